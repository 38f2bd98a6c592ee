import { describe, expect, it, jest } from '@jest/globals';
import { throttleProgress } from './job-context.js';

describe(throttleProgress.name, () => {
  it('emits at most once per interval and only on change', () => {
    jest.useFakeTimers({ now: 0 });
    const emit = jest.fn<(p: number) => void>();
    const sut = throttleProgress(emit, 250);
    sut(10);
    sut(20);
    sut(10);
    jest.setSystemTime(300);
    sut(30);
    sut(30);
    jest.setSystemTime(700);
    sut(30);
    sut(40);
    expect(emit.mock.calls.map(([p]) => p)).toEqual([10, 30, 40]);
    jest.useRealTimers();
  });
});
