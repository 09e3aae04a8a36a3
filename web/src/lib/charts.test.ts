import { describe, expect, it } from 'vitest';
import { axisTicks, csvShare, formatMinutes, formatShare, niceMax } from './charts';

describe('chart axes', () => {
  it('rounds the maximum up to a readable value', () => {
    expect(niceMax(0)).toBe(1);
    expect(niceMax(7)).toBe(10);
    expect(niceMax(13)).toBe(20);
    expect(niceMax(21)).toBe(25);
    expect(niceMax(250)).toBe(250);
    expect(niceMax(251)).toBe(500);
  });

  it('spaces the ticks evenly from zero', () => {
    expect(axisTicks(13)).toEqual([0, 5, 10, 15, 20]);
    expect(axisTicks(0)).toEqual([0, 0.25, 0.5, 0.75, 1]);
    // Whole counts, not 6.25.
    expect(axisTicks(21)).toEqual([0, 5, 10, 15, 20, 25]);
  });
});

describe('insight formats', () => {
  it('shows durations in the largest sensible units', () => {
    expect(formatMinutes(45)).toBe('45 min');
    expect(formatMinutes(125)).toBe('2 h 5 min');
    expect(formatMinutes(120)).toBe('2 h');
    expect(formatMinutes(1500)).toBe('1 d 1 h');
    expect(formatMinutes(2880)).toBe('2 d');
  });

  it('shows missing data as a dash, never as zero', () => {
    expect(formatMinutes(null)).toBe('—');
    expect(formatShare(null)).toBe('—');
    expect(csvShare(undefined)).toBe(null);
    expect(formatShare(0)).toBe('0%');
    expect(csvShare(0.6667)).toBe(66.7);
  });
});
