# unit tests: data
