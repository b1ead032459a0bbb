"""Background jobs through the sync client: submit, wait with progress, get, list, cancel, retry, failures."""

import pytest
from conftest import JFK, JFK_WORDS, SHORT, TWO_SPEAKERS, words
from wire import assert_wire

import earshot
from earshot.types import Job, JobAccepted, JobDeleted, JobList

EN = {"settings": {"tasks": ["transcribe"], "tra": {"language": "en"}}}


def test_submit_then_wait_reports_progress_up_to_1_and_returns_the_result(client: earshot.Earshot) -> None:
    accepted = client.submit(JFK, EN)
    assert_wire(accepted, JobAccepted)
    progress = []
    job = client.wait_for_job(accepted, poll_interval=0.1, on_progress=lambda p, polled: progress.append((p, polled["status"])))
    assert_wire(job, Job)
    assert job["status"] == "completed"
    assert JFK_WORDS in words(job["result"]["result"]["tra"]["text"])
    assert progress[-1] == (1, "completed")
    assert all(a[0] < b[0] for a, b in zip(progress, progress[1:]))

    assert client.get_job(accepted["job_id"])["status"] == "completed"
    page = client.list_jobs(limit=100)
    assert_wire(page, JobList)
    assert accepted["job_id"] in [j["job_id"] for j in page["jobs"]]
    completed = client.list_jobs(status="completed")
    assert completed["jobs"] and all(j["status"] == "completed" for j in completed["jobs"])


def test_the_same_idempotency_key_gives_back_the_same_job_and_a_fresh_one_by_default(client: earshot.Earshot) -> None:
    first = client.submit(SHORT, EN, idempotency_key="python-client-once")
    again = client.submit(SHORT, EN, idempotency_key="python-client-once")
    assert again["job_id"] == first["job_id"]
    other = client.submit(SHORT, EN)
    assert other["job_id"] != first["job_id"]
    for job in (first, other):
        client.wait(job, poll_interval=0.1)


def test_cancel_deletes_a_job_and_get_then_answers_404(client: earshot.Earshot) -> None:
    accepted = client.submit(TWO_SPEAKERS, {"settings": {"tasks": ["transcribe", "diarization"]}})
    deleted = client.cancel_job(accepted["job_id"])
    assert_wire(deleted, JobDeleted)
    assert deleted["job_id"] == accepted["job_id"] and deleted["deleted"] is True
    with pytest.raises(earshot.EarshotApiError) as gone:
        client.get_job(accepted["job_id"])
    assert (gone.value.status, gone.value.code) == (404, "job_not_found")


def test_a_failed_job_raises_its_code_and_can_be_retried(client: earshot.Earshot) -> None:
    accepted = client.submit(b"these bytes are not audio", EN)
    with pytest.raises(earshot.EarshotJobError) as failed:
        client.wait_for_job(accepted["job_id"], poll_interval=0.1)
    assert failed.value.code == "unsupported_audio"
    assert failed.value.job["status"] == "failed"

    retried = client.retry_job(accepted["job_id"])
    assert_wire(retried, Job)
    assert retried["job_id"] == accepted["job_id"] and retried["status"] in ("queued", "processing")
    with pytest.raises(earshot.EarshotJobError) as failed_again:
        client.wait_for_job(accepted["job_id"], poll_interval=0.1)
    # It ran again: a later end than the first run's.
    assert failed_again.value.job["finished_at"] > failed.value.job["finished_at"]

    done = client.submit(SHORT, EN)
    client.wait_for_job(done, poll_interval=0.1)
    with pytest.raises(earshot.EarshotApiError) as conflict:
        client.retry_job(done)
    assert (conflict.value.status, conflict.value.code) == (409, "job_conflict")


def test_wait_gives_up_after_its_timeout(client: earshot.Earshot) -> None:
    accepted = client.submit(TWO_SPEAKERS, {"settings": {"tasks": ["transcribe", "diarization"]}})
    with pytest.raises(earshot.EarshotError) as waited:
        client.wait_for_job(accepted, poll_interval=0.1, timeout=0.3)
    assert waited.value.code == "timeout"
    client.cancel_job(accepted)
