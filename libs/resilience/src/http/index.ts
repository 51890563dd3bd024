export * from './http-client.error';
export * from './http-server.error';
export * from './http-connection.error';
export * from './retry.budget';
export * from './resilient-http.client';
