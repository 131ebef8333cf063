package ui

// managerTexts are the manager tools' texts (log, reports, sync, other
// terminals, settings), in the same form as coreTexts.
var managerTexts = map[string]text{}
