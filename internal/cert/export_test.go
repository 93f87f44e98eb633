package cert

// SetKDFLimitsForTest lowers the key-derivation bounds so a fuzzer does
// not spend its time in legitimate but slow derivations; it returns a
// function that restores them.
func SetKDFLimitsForTest(iterations, scryptCost int) func() {
	i, s := maxPBKDF2Iterations, maxScryptCost
	maxPBKDF2Iterations, maxScryptCost = iterations, scryptCost
	return func() { maxPBKDF2Iterations, maxScryptCost = i, s }
}
