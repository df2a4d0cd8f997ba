/** The shape of one row of the generated operations table: how to call an operation, as data. */

export interface OperationSpec {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** OpenAPI path template, e.g. `/api/agents/{name}`. */
  path: `/${string}`;
  /** Path parameters, in template order. */
  params: readonly string[];
  /** Query parameters; arrays are sent comma-separated (every array parameter in the document is `explode: false`). */
  query: readonly string[];
  /** `json`: a JSON body; `binary`: raw bytes with their own Content-Type; null: no body. */
  body: 'json' | 'binary' | null;
  /**
   * `flat`: body fields sit beside path and query parameters in the input, as in tRPC;
   * `nested`: the body is `input.body` (a body field shares a name with a parameter, or the body is not an object).
   */
  bodyInput: 'flat' | 'nested';
  /** The success status. */
  status: number;
  /** `envelope`: `{success, data}` (the client returns `data`); `json`: a raw JSON body; `sse`: text/event-stream. */
  response: 'envelope' | 'json' | 'sse';
  /** The stream can be resumed with a Last-Event-ID header. */
  resumable: boolean;
}
