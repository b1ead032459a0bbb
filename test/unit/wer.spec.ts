import { characterErrors, normalizeForWer, wordErrors } from '../../libs/text/wer';

describe('normalizeForWer', () => {
  it('lower-cases, drops punctuation and collapses spaces', () => {
    expect(normalizeForWer('  And so, my fellow Americans:  ask NOT!  ')).toBe('and so my fellow americans ask not');
  });

  it('turns hyphens and dashes into spaces', () => {
    expect(normalizeForWer('well-known—really – twenty‐one')).toBe('well known really twenty one');
  });

  it('keeps apostrophes inside words only', () => {
    expect(normalizeForWer("Don’t say 'yes', the students' books")).toBe("don't say yes the students books");
  });

  it('applies NFKC and keeps letters of any script, marks and digits', () => {
    expect(normalizeForWer('ﬁne Ⅻ² Café 广州市。हिन्दी')).toBe('fine xii2 café 广州市 हिन्दी');
  });

  it('is empty for punctuation only', () => {
    expect(normalizeForWer(' ... -- !? ')).toBe('');
  });
});

describe('wordErrors', () => {
  it('counts nothing for equal texts, whatever the case and punctuation', () => {
    expect(wordErrors('Ask not what your country can do for you.', 'ask not, what your COUNTRY can do for you')).toEqual({
      edits: 0,
      words: 9,
    });
  });

  it('counts a substitution', () => {
    expect(wordErrors('the cat sat', 'the hat sat')).toEqual({ edits: 1, words: 3 });
  });

  it('counts an insertion', () => {
    expect(wordErrors('the cat sat', 'the cat sat down')).toEqual({ edits: 1, words: 3 });
  });

  it('counts a deletion', () => {
    expect(wordErrors('the cat sat down', 'the sat down')).toEqual({ edits: 1, words: 4 });
  });

  it('mixes edits at the minimum cost', () => {
    expect(wordErrors('a b c d e', 'x a c d e f')).toEqual({ edits: 3, words: 5 });
  });

  it('handles an empty reference or hypothesis', () => {
    expect(wordErrors('', 'some words here')).toEqual({ edits: 3, words: 0 });
    expect(wordErrors('some words here', '')).toEqual({ edits: 3, words: 3 });
    expect(wordErrors('', '')).toEqual({ edits: 0, words: 0 });
  });
});

describe('characterErrors', () => {
  it('compares characters without spaces or punctuation', () => {
    expect(characterErrors('广州市房地产中介协会分析', '广州市房地產中介协会，分析')).toEqual({ edits: 1, characters: 12 });
  });

  it('counts insertions and deletions of characters', () => {
    expect(characterErrors('ab c', 'abxc')).toEqual({ edits: 1, characters: 3 });
    expect(characterErrors('abc', '')).toEqual({ edits: 3, characters: 3 });
    expect(characterErrors('', 'ab')).toEqual({ edits: 2, characters: 0 });
  });

  it('counts a character outside the BMP once', () => {
    expect(characterErrors('a𠀀b', 'ab')).toEqual({ edits: 1, characters: 3 });
  });
});
