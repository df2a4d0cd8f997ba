/** What a failure means to a person: the API's code and message, with what to do for the ones the console expects. */
import { isMoxxyApiError } from '@moxxy/client';

export interface Problem {
  title: string;
  detail?: string;
  code?: string;
}

const text = (value: unknown) => (value === undefined || value === null ? '' : String(value));

export function describeProblem(error: unknown): Problem {
  if (!isMoxxyApiError(error)) return { title: error instanceof Error ? error.message : String(error) };
  const details = error.details ?? {};
  const code = error.code;
  switch (code) {
    case 'SESSION_BUSY':
      return { code, title: 'This session is busy', detail: `Run ${text(details.run_id)} is still going: wait for it to end, or cancel it.` };
    case 'RATE_LIMITED':
      return { code, title: 'Rate limited', detail: `${error.message}. Try again in ${text(details.retry_after) || 'a'} second(s).` };
    case 'VALIDATION_ERROR': {
      const issues = Array.isArray(details.issues) ? (details.issues as Array<{ path?: string; message?: string }>) : [];
      return { code, title: 'Invalid input', detail: issues.map((issue) => `${issue.path || 'input'}: ${issue.message}`).join('; ') || error.message };
    }
    case 'FORBIDDEN':
      return { code, title: 'Not allowed', detail: error.message };
    case 'UNAUTHORIZED':
      return { code, title: 'Not logged in', detail: error.message };
    default:
      return { code, title: error.message };
  }
}
