# unit tests: engine
