import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsArray, IsNumber, IsOptional, IsString, MaxLength, ValidateNested } from 'class-validator';

/** The fields of a segment that the text, SRT and WebVTT writers read; others (words, scores) may be left out. */
class RenderSegmentDto {
  @IsNumber() start!: number;
  @IsNumber() end!: number;
  @IsString() @MaxLength(10_000) text!: string;
  @IsOptional() @IsString() @MaxLength(64) speaker?: string;
  @IsOptional() @IsString() @MaxLength(64) emotion?: string;
}

class RenderTurnDto {
  @IsNumber() start!: number;
  @IsNumber() end!: number;
  @IsString() @MaxLength(64) speaker!: string;
}

class RenderTranscriptDto {
  @IsString() text!: string;
  @IsArray() @ValidateNested({ each: true }) @Type(() => RenderSegmentDto) segments!: RenderSegmentDto[];
}

class RenderDiarizationDto {
  @IsArray() @ValidateNested({ each: true }) @Type(() => RenderTurnDto) turns!: RenderTurnDto[];
}

class RenderResultDto {
  @IsOptional() @ValidateNested() @Type(() => RenderTranscriptDto) tra?: RenderTranscriptDto;
  @IsOptional() @ValidateNested() @Type(() => RenderDiarizationDto) dia?: RenderDiarizationDto;
  @IsOptional() @IsArray() @ValidateNested({ each: true }) @Type(() => RenderSegmentDto) segments?: RenderSegmentDto[];
}

/** A result the caller already has (a 200 answer of POST /v1/process, or a job's `result`), to render again. */
export class RenderRequestDto {
  @ApiPropertyOptional({ description: 'Names the RTTM file; any string' })
  @IsOptional()
  @IsString()
  @MaxLength(128)
  request_id?: string;

  @ApiProperty({ description: 'The `result` object of the answer: tra (text, segments), dia (turns), segments (merged)' })
  @ValidateNested()
  @Type(() => RenderResultDto)
  result!: RenderResultDto;
}
