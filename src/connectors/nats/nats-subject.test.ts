import { describe, expect, it } from 'vitest';
import { compileSubject, parseSubjectTemplate, subjectProblem } from './nats-subject.js';

describe('subject templates', () => {
  it('fills {column} parts from the row', () => {
    const subjectOf = compileSubject(parseSubjectTemplate('totals.{region}.{ year }'));
    expect(subjectOf({ region: 'eu', year: 2026 })).toEqual({ subject: 'totals.eu.2026' });
    expect(subjectOf({ region: 'eu.west', year: 1n })).toEqual({ subject: 'totals.eu.west.1' });
    expect(compileSubject(parseSubjectTemplate('fixed.subject'))({})).toEqual({
      subject: 'fixed.subject',
    });
  });

  it('says which column cannot fill the subject', () => {
    const subjectOf = compileSubject(parseSubjectTemplate('t.{region}'));
    expect(subjectOf({})).toEqual({
      problem: 'column "region" of the subject template is missing or null',
    });
    expect(subjectOf({ region: null })).toHaveProperty('problem');
    expect(subjectOf({ region: '' })).toEqual({ problem: 'subject "t." has an empty token' });
    expect(subjectOf({ region: ['a'] })).toEqual({
      problem: 'column "region" of the subject template holds a list, not text or a number',
    });
  });

  it('finds broken templates', () => {
    expect(parseSubjectTemplate('a.{b').problem).toMatch(/"\{" without "\}"/);
    expect(parseSubjectTemplate('a.b}').problem).toMatch(/"\}" without "\{"/);
    expect(parseSubjectTemplate('a.{}').problem).toMatch(/names no column/);
    expect(parseSubjectTemplate('a.*').problem).toMatch(/wildcard/);
    expect(parseSubjectTemplate('a..{b}').problem).toMatch(/empty token/);
    expect(parseSubjectTemplate('a.{b}').problem).toBeUndefined();
    expect(subjectProblem('a b')).toMatch(/whitespace/);
  });
});
