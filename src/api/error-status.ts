// The only code -> HTTP status table (spec 1.8). test/errors.test.ts checks every registry code
// is here and documented in docs/api.md.
import type { ErrorCode } from '../model/errors.js';

export const errorStatus: Record<ErrorCode, number> = {
  BadRequestError: 400,
  InvalidArgumentError: 400,
  NotAvailableYet: 400,
  UnselectiveContentQueryError: 400,
  UnsupportedContentQueryError: 400,
  AuthenticationRequiredError: 401,
  UserNotActiveError: 401,
  WrongCredentialsError: 401,
  ForbiddenError: 403,
  NotFoundError: 404,
  AlreadyExistsError: 409,
  FailedDependencyError: 424,
  QuotaExceededError: 429,
  TooManyRequestsError: 429,
  TooManyRequests: 429,
  TransientError: 503,
  DeadlineExceededError: 504,
  InternalError: 500,
};
