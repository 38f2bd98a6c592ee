import { describe, expect, it } from '@jest/globals';
import { InvalidOrderFilterError, orderFilterSql } from './order-filter.js';

describe(orderFilterSql.name, () => {
  it('filters nothing without filters', () => {
    expect(orderFilterSql()).toEqual({ where: '', params: [] });
    expect(orderFilterSql({})).toEqual({ where: '', params: [] });
  });

  it('includes the whole of the `to` day by bounding before the next midnight UTC', () => {
    const sut = orderFilterSql({ from: '2026-01-01', to: '2026-06-30' });

    expect(sut.where).toBe('WHERE created_at >= $1 AND created_at < $2');
    expect(sut.params).toEqual([new Date('2026-01-01T00:00:00.000Z'), new Date('2026-07-01T00:00:00.000Z')]);
  });

  it('crosses month and year ends', () => {
    expect(orderFilterSql({ to: '2025-12-31' }).params).toEqual([new Date('2026-01-01T00:00:00.000Z')]);
    expect(orderFilterSql({ to: '2028-02-28' }).params).toEqual([new Date('2028-02-29T00:00:00.000Z')]);
  });

  it('adds the status as a parameter, numbered after the dates', () => {
    expect(orderFilterSql({ from: '2025-03-01', status: 'refunded' })).toEqual({
      where: 'WHERE created_at >= $1 AND status = $2',
      params: [new Date('2025-03-01T00:00:00.000Z'), 'refunded'],
    });
  });

  it.each(['2026-02-30', '2026-13-01', '2025-02-29'])('refuses %s as a permanent error', (day) => {
    expect(() => orderFilterSql({ from: day })).toThrow(InvalidOrderFilterError);
    expect(() => orderFilterSql({ to: day })).toThrow(`filters.to: "${day}" is not a calendar date`);
  });
});
