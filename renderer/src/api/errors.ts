/** A failed API call, with the backend's error code (BAD_REQUEST, NOT_FOUND, BAD_WEIGHTS, ...). */
export class ApiCallError extends Error {
  constructor(
    readonly method: string,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiCallError';
  }
}
