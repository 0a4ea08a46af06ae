# unit tests: smtp
