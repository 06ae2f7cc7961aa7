// The error registry: one class per VirusTotal error code (spec 1.8). Business code throws these;
// api/error-status.ts is the only place that maps a code to an HTTP status.

export type ErrorCode =
  | 'BadRequestError'
  | 'InvalidArgumentError'
  | 'NotAvailableYet'
  | 'UnselectiveContentQueryError'
  | 'UnsupportedContentQueryError'
  | 'AuthenticationRequiredError'
  | 'UserNotActiveError'
  | 'WrongCredentialsError'
  | 'ForbiddenError'
  | 'NotFoundError'
  | 'AlreadyExistsError'
  | 'FailedDependencyError'
  | 'QuotaExceededError'
  | 'TooManyRequestsError'
  | 'TooManyRequests'
  | 'TransientError'
  | 'DeadlineExceededError'
  | 'InternalError';

/** Base of every error Trawl reports to a client. `code` is VirusTotal's error code. */
export class TrawlError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = code;
  }
}

export const badRequest = (message: string) => new TrawlError('BadRequestError', message);
export const invalidArgument = (message: string) => new TrawlError('InvalidArgumentError', message);
export const notFound = (message: string) => new TrawlError('NotFoundError', message);
export const forbidden = (message = 'You are not authorized to perform the requested operation') =>
  new TrawlError('ForbiddenError', message);
export const alreadyExists = (message: string) => new TrawlError('AlreadyExistsError', message);
/** A content search whose terms hold too little for the content index to narrow the files by. */
export const unselectiveContentQuery = (message: string) => new TrawlError('UnselectiveContentQueryError', message);
/** A content search Trawl cannot run: a malformed term, a construct it does not take, no content index. */
export const unsupportedContentQuery = (message: string) => new TrawlError('UnsupportedContentQueryError', message);
/** Spec 1.8 has no 413 code: an oversize upload is a bad request. */
export const tooLarge = (message: string) => new TrawlError('BadRequestError', message);
export const transient = (message: string) => new TrawlError('TransientError', message);
/** Storage full or read-only. Spec 1.8 has no 507 code; TransientError (503) tells clients to retry
 * later, which is right once an operator has freed or fixed the storage. */
export const insufficientStorage = (message: string) => new TrawlError('TransientError', message);

/** "<type> with id \"<id>\" not found", VirusTotal's wording. */
export const objectNotFound = (type: string, id: string) =>
  notFound(`${type} with id "${id}" not found`);
