import { plainToInstance } from 'class-transformer';
import { validate, type ValidationError } from 'class-validator';
import { EarshotError } from '../../contract/errors';

function describe(e: ValidationError, path: string): string[] {
  return [
    ...Object.values(e.constraints ?? {}).map((m) => `${path}${e.property}: ${m}`),
    ...(e.children ?? []).flatMap((c) => describe(c, `${path}${e.property}.`)),
  ];
}

/** A parsed JSON body → a validated DTO instance, or 400 naming every bad field (`source` names the body). */
export async function validateBody<T extends object>(dto: new () => T, plain: unknown, source: string): Promise<T> {
  if (typeof plain !== 'object' || plain === null || Array.isArray(plain)) {
    throw new EarshotError('invalid_request', `${source} must be a JSON object`);
  }
  const instance = plainToInstance(dto, plain);
  const errors = await validate(instance, { forbidUnknownValues: true });
  if (errors.length) throw new EarshotError('invalid_request', `invalid ${source}: ${errors.flatMap((e) => describe(e, '')).join('; ')}`);
  return instance;
}
