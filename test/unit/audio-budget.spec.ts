/** Audio seconds per key and hour: refusal with Retry-After to the next hour, then a fresh budget. */
import { AudioBudget, MemoryAudioBudgetStore } from '../../src/server/api/security/audio-budget';
import { EarshotError } from '../../src/contract/errors';
import type { Principal } from '../../src/server/infra/context/request-context';

const key = (audioSecondsPerHour: number, id = 'k'): Principal => ({ id, scopes: new Set(), requestsPerMin: 0, audioSecondsPerHour });

test('a key is refused once its hour is used, until the next hour; keys are counted apart', async () => {
  let now = Date.UTC(2026, 0, 1, 10, 59, 0);
  const budget = new AudioBudget(new MemoryAudioBudgetStore(), () => now);
  await budget.check(key(20));
  await budget.charge('k', 11);
  await budget.check(key(20)); // 11 < 20: still admitted, and this run may cross the limit
  await budget.charge('k', 11);
  const refusal = await budget.check(key(20)).then(
    () => undefined,
    (e: EarshotError) => e,
  );
  expect(refusal).toMatchObject({ code: 'rate_limited', retryAfterS: 60 });
  await budget.check(key(20, 'other'));
  await budget.check(key(0)); // 0 = no audio limit for this key
  now += 60_000;
  await budget.check(key(20));
});
