import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { Allow, ArrayNotEmpty, IsArray, IsBoolean, IsIn, IsInt, IsNumber, IsOptional, IsString, Max, MaxLength, Min, ValidateNested } from 'class-validator';
import {
  DIARIZATION_MODES,
  type DiarizationMode,
  EMOTION_LEVELS,
  type EmotionLevel,
  OUTPUT_FORMATS,
  type OutputFormat,
  TASKS,
} from '../../../../libs/contracts/process';

export class TranscribeSettingsDto {
  @ApiPropertyOptional({
    example: 'whisper-tiny',
    description: 'An installed model (GET /v1/models); default DEFAULT_STT_MODEL (files) or DEFAULT_STREAM_MODEL (/v1/ws).',
  })
  @IsOptional()
  @IsString()
  model?: string;

  @ApiPropertyOptional({ example: 'auto', description: 'ISO 639-1 code or English name; "auto" detects it.' })
  @IsOptional()
  @IsString()
  @MaxLength(32)
  language?: string;

  @ApiPropertyOptional({ enum: ['transcribe', 'translate'] })
  @IsOptional()
  @IsIn(['transcribe', 'translate'])
  task?: 'transcribe' | 'translate';

  @ApiPropertyOptional({ type: 'integer', minimum: 1, maximum: 10, default: 1 })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(10)
  beam_size?: number;

  @ApiPropertyOptional({
    oneOf: [
      { type: 'number', minimum: 0, maximum: 1 },
      { type: 'array', items: { type: 'number', minimum: 0, maximum: 1 }, minItems: 1, maxItems: 10 },
    ],
    default: 0,
    description: 'A first temperature (a failed decode is retried 0.2 hotter, up to 1), or the whole fallback schedule such as [0, 0.2, 0.4, 0.6, 0.8, 1].',
  })
  @IsOptional()
  @IsNumber({}, { each: true })
  @Min(0, { each: true })
  @Max(1, { each: true })
  temperature?: number | number[];

  @ApiPropertyOptional({ default: false })
  @IsOptional()
  @IsBoolean()
  word_timestamps?: boolean;

  @ApiPropertyOptional({ type: String, nullable: true, description: 'Text that conditions the decoder (names, spelling, style).' })
  @IsOptional()
  @IsString()
  @MaxLength(2000)
  initial_prompt?: string | null;

  @ApiPropertyOptional({ default: true, description: 'Skip silence with Silero VAD before transcribing.' })
  @IsOptional()
  @IsBoolean()
  vad_filter?: boolean;

  @ApiPropertyOptional({
    type: 'integer',
    minimum: 1,
    maximum: 20,
    default: 5,
    description: 'Candidates sampled per window at temperatures above 0; the likeliest is kept.',
  })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(20)
  best_of?: number;

  @ApiPropertyOptional({ minimum: 0.5, maximum: 4, default: 1, description: 'Beam search ends after beam_size × patience finished hypotheses.' })
  @IsOptional()
  @IsNumber()
  @Min(0.5)
  @Max(4)
  patience?: number;

  @ApiPropertyOptional({
    type: Number,
    nullable: true,
    default: 2.4,
    description: 'A decode whose text compresses worse than this is retried hotter; null: never.',
  })
  @IsOptional()
  @IsNumber()
  compression_ratio_threshold?: number | null;

  @ApiPropertyOptional({
    type: Number,
    nullable: true,
    default: -1,
    description: 'A decode with a lower average log-probability is retried hotter; null: never.',
  })
  @IsOptional()
  @IsNumber()
  log_prob_threshold?: number | null;

  @ApiPropertyOptional({
    type: Number,
    nullable: true,
    minimum: 0,
    maximum: 1,
    default: 0.6,
    description: 'A window likelier than this to hold no speech, with text under log_prob_threshold, is dropped as silence; null: never.',
  })
  @IsOptional()
  @IsNumber()
  @Min(0)
  @Max(1)
  no_speech_threshold?: number | null;

  @ApiPropertyOptional({ type: String, nullable: true, description: 'Words to favour (names, terms): placed in the prompt before initial_prompt.' })
  @IsOptional()
  @IsString()
  @MaxLength(2000)
  hotwords?: string | null;

  @ApiPropertyOptional({ default: false, description: 'Decode text only: one segment per window (timed by the window).' })
  @IsOptional()
  @IsBoolean()
  without_timestamps?: boolean;

  @ApiPropertyOptional({
    type: 'integer',
    nullable: true,
    minimum: 1,
    maximum: 448,
    description: "Most tokens decoded per window; default half the model's context.",
  })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(448)
  max_new_tokens?: number | null;
}

/** Shapes only: impossible counts (0, over 20, min above max) are refused by the service with 422. */
export class DiarizationSettingsDto {
  @ApiPropertyOptional({
    enum: DIARIZATION_MODES,
    default: 'diarize',
    description:
      'identify (needs speakers): no clustering; each speech segment (per channel with stereo_mode) takes the nearest enrolled voice\'s name, or "unknown".',
  })
  @IsOptional()
  @IsIn(DIARIZATION_MODES)
  mode?: DiarizationMode;

  @ApiPropertyOptional({ type: 'integer', nullable: true, minimum: 1, maximum: 20, description: 'Exact speaker count when known.' })
  @IsOptional()
  @IsInt()
  num_speakers?: number | null;

  @ApiPropertyOptional({ type: 'integer', nullable: true, minimum: 1, maximum: 20 })
  @IsOptional()
  @IsInt()
  min_speakers?: number | null;

  @ApiPropertyOptional({ type: 'integer', nullable: true, minimum: 1, maximum: 20 })
  @IsOptional()
  @IsInt()
  max_speakers?: number | null;

  @ApiPropertyOptional({ default: false, description: 'Each channel of a stereo file is one speaker (call-centre recordings).' })
  @IsOptional()
  @IsBoolean()
  stereo_mode?: boolean;

  @ApiPropertyOptional({
    oneOf: [
      { type: 'array', items: { type: 'string' } },
      { type: 'string', enum: ['all'] },
    ],
    description: 'Enrolled speakers (POST /v1/speakers) to name the diarized ones by: ids or names, or "all" of the API key\'s.',
  })
  @IsOptional()
  @Allow()
  speakers?: string[] | 'all';

  @ApiPropertyOptional({ description: 'Accepted for sensory-transcription clients and ignored: the service places models on devices itself.' })
  @IsOptional()
  @IsBoolean()
  use_gpu?: boolean;
}

export class EmotionSettingsDto {
  @ApiPropertyOptional({
    enum: EMOTION_LEVELS,
    default: 'segment',
    description: 'word and sentence (transcript sentences) run transcription, speaker (one item per speaker) runs diarization, when not asked for.',
  })
  @IsOptional()
  @IsIn(EMOTION_LEVELS)
  analysis_level?: EmotionLevel;

  @ApiPropertyOptional({ example: 'earshot-robust', description: 'An installed emotion model (GET /v1/models); default the built-in head.' })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  model?: string;

  @ApiPropertyOptional({ example: 'gigaam_emo', description: 'sensory-transcription\'s name for model; its default "gigaam_emo" means the default model.' })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  model_name?: string;
}

export class ProcessSettingsDto {
  @ApiProperty({ enum: TASKS, isArray: true, example: ['transcribe'], description: 'Any non-empty subset.' })
  @IsArray()
  @ArrayNotEmpty()
  @IsString({ each: true })
  tasks!: string[];

  @ApiPropertyOptional({ type: TranscribeSettingsDto })
  @IsOptional()
  @ValidateNested()
  @Type(() => TranscribeSettingsDto)
  tra?: TranscribeSettingsDto;

  @ApiPropertyOptional({ type: DiarizationSettingsDto })
  @IsOptional()
  @ValidateNested()
  @Type(() => DiarizationSettingsDto)
  dia?: DiarizationSettingsDto;

  @ApiPropertyOptional({ type: EmotionSettingsDto })
  @IsOptional()
  @ValidateNested()
  @Type(() => EmotionSettingsDto)
  emo?: EmotionSettingsDto;
}

/** The `request_json` field of POST /v1/process. */
export class ProcessRequestDto {
  @ApiProperty({ type: ProcessSettingsDto })
  @ValidateNested()
  @Type(() => ProcessSettingsDto)
  settings!: ProcessSettingsDto;

  @ApiPropertyOptional({ enum: OUTPUT_FORMATS, default: 'json' })
  @IsOptional()
  @IsIn(OUTPUT_FORMATS)
  format_output?: OutputFormat;

  @ApiPropertyOptional({
    default: false,
    description: 'true: answer 202 {status:"queued", job_id} at once and run the request as a background job (GET /v1/jobs/:id).',
  })
  @IsOptional()
  @IsBoolean()
  async_process?: boolean;

  @ApiPropertyOptional({ type: String, nullable: true, description: 'With async_process: the finished job is POSTed here, signed (X-Earshot-Signature).' })
  @IsOptional()
  @IsString()
  @MaxLength(2048)
  callback_url?: string | null;
}
