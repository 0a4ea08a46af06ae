# unit tests: rules
