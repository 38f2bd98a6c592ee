import { describe, expect, it } from '@jest/globals';
import { ChargePayment, EchoCommands, GenerateReport, SendNotification } from './commands.js';
import { ContractViolation, parsePayload, schemaId } from './contract.js';
import { contractFor } from './registry.js';

describe('contracts', () => {
  it('validates and fills defaults', () => {
    expect(parsePayload(EchoCommands.run, { message: 'hi' })).toEqual({
      message: 'hi',
      failTimes: 0,
      failPermanently: false,
      cpuMs: 0,
    });
    expect(schemaId(EchoCommands.run)).toBe('echo.run/1');
  });

  it('rejects unknown fields and says which field is wrong', () => {
    expect(() => parsePayload(EchoCommands.run, { message: 'hi', admin: true })).toThrow(ContractViolation);
    expect(() => parsePayload(EchoCommands.run, { message: 'x'.repeat(1025) })).toThrow(/message/);
    expect(
      GenerateReport.safeParse({ format: 'csv', dataset: 'orders', filters: { status: 'lost' } }).success,
    ).toBe(false);
    expect(ChargePayment.safeParse({ amount: 0, currency: 'EUR', customerId: 'c' }).success).toBe(false);
    expect(ChargePayment.safeParse({ amount: 1999, currency: 'eur', customerId: 'c' }).success).toBe(false);
    expect(SendNotification.safeParse({ channel: 'webhook', url: 'ftp://x', payload: {} }).success).toBe(
      false,
    );
  });

  it('knows every message by its routing key', () => {
    expect(contractFor('report.generate')?.consumer).toBe('report-service');
    expect(contractFor('job.succeeded')?.kind).toBe('event');
    expect(contractFor('nope')).toBeUndefined();
  });
});
