export * from './alerter';
export * from './logging-alerter';
export * from './webhook-alerter';
