# rule language: loader, evaluator
