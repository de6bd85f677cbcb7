/**
 * The in-memory count of failed authentications per client address: ended windows leave the
 * map from its front, and many addresses never hold more than the cap, so that a client with
 * many addresses costs neither unbounded memory nor a scan of every address per call.
 */
import { describe, expect, it } from 'vitest';
import { MemoryCounter } from '../../src/http/rate-limit.js';

describe('failed-authentication counter in memory', () => {
  it('counts hits per name within a window and starts afresh after it', async () => {
    let now = 1_000;
    const counter = new MemoryCounter(60_000, 100, () => now);
    await counter.hit('a');
    await counter.hit('a');
    expect(await counter.read('a')).toEqual({ count: 2, msLeft: 60_000 });
    now += 60_000;
    expect(await counter.read('a')).toEqual({ count: 0, msLeft: 0 });
    await counter.hit('a');
    expect(await counter.read('a')).toEqual({ count: 1, msLeft: 60_000 });
  });

  it('drops ended windows as new ones open, keeping a renewed name', async () => {
    let now = 0;
    const counter = new MemoryCounter(1_000, 100, () => now);
    for (let i = 0; i < 50; i++) await counter.hit(`old-${i}`);
    now = 500;
    await counter.hit('renewed');
    now = 1_000; // the 50 first windows end; 'renewed' is open until 1,500
    await counter.hit('new');
    expect(counter.size).toBe(2);
    expect((await counter.read('renewed')).count).toBe(1);
    now = 1_500;
    await counter.hit('renewed'); // a new window moves it to the end
    now = 2_000; // 'new' ended, 'renewed' is open until 2,500
    await counter.hit('later');
    expect(counter.size).toBe(2);
    expect((await counter.read('renewed')).count).toBe(1);
    expect((await counter.read('new')).count).toBe(0);
  });

  it('keeps at most its cap of open windows, the oldest dropped first', async () => {
    const counter = new MemoryCounter(60_000, 1_000, () => 0);
    for (let i = 0; i < 5_000; i++) await counter.hit(`addr-${i}`);
    expect(counter.size).toBe(1_000);
    expect((await counter.read('addr-3999')).count).toBe(0);
    expect((await counter.read('addr-4000')).count).toBe(1);
    expect((await counter.read('addr-4999')).count).toBe(1);
  });
});
