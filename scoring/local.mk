# scoring/: libscoring.a, the score card and verdicts.  Pure.
