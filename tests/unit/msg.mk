# unit tests: msg
