/** The content type of every JSON answer the server writes itself (envelopes, raw routes, dialects, doors). */
export const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';
