import 'reflect-metadata';
import { applyDecorators, SetMetadata } from '@nestjs/common';
import { RouteConfig } from '@nestjs/platform-fastify';
import type { RouteOptions } from 'fastify';
import type { AppConfig } from '../../infra/config/app-config';
import type { Scope } from '../../infra/context/request-context';

/** Who may call a route: everyone, the holder of any valid key, or a key with this scope. */
export type RouteAccess = 'public' | 'any-key' | Scope;

/** A route's declared access, and the setting, if any, that opens it to everyone. */
export interface AccessDeclaration {
  access: RouteAccess;
  publicWhen?: keyof Pick<AppConfig['security'], 'metricsPublic' | 'docsPublic'>;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Set by @Access (Nest routes) or declareAccess (routes added to fastify directly); read by installHardening. */
    access?: AccessDeclaration;
  }
}

const ACCESS_METADATA = 'earshot:access';

/**
 * Declares who may call a route, on each controller method or on a WebSocket gateway class. On a method it becomes
 * the fastify route's `config.access`, which the hardening hook reads for every request; a gateway reads its own
 * with `declaredAccess`. A route without a declaration stops start-up (installHardening).
 */
export function Access(access: RouteAccess, options: Pick<AccessDeclaration, 'publicWhen'> = {}): ClassDecorator & MethodDecorator {
  const declaration: AccessDeclaration = { access, ...options };
  return applyDecorators(SetMetadata(ACCESS_METADATA, declaration), RouteConfig({ access: declaration }));
}

/** The access a class (gateway) or method (route handler) declares with @Access, if any. */
export function accessMetadataOf(target: object): AccessDeclaration | undefined {
  return Reflect.getMetadata(ACCESS_METADATA, target) as AccessDeclaration | undefined;
}

/** The access a gateway declares; a gateway without one refuses every connection rather than guess. */
export function declaredAccess(gateway: object): RouteAccess {
  const declared = accessMetadataOf(gateway);
  if (!declared) throw new Error(`${(gateway as { name?: string }).name ?? 'this gateway'} declares no @Access`);
  return declared.access;
}

/** For routes added to fastify directly (the web UI's files, Swagger's pages), from an `onRoute` hook of whoever adds them. */
export function declareAccess(route: RouteOptions, declaration: AccessDeclaration): void {
  route.config = { ...route.config, access: declaration };
}

/** The access a declaration comes to under this configuration. */
export function effectiveAccess(declaration: AccessDeclaration, security: Pick<AppConfig['security'], 'metricsPublic' | 'docsPublic'>): RouteAccess {
  return declaration.publicWhen && security[declaration.publicWhen] ? 'public' : declaration.access;
}
