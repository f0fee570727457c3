package main

import (
	"flag"
	"io"
)

// newFlagSet returns a flag set that reports errors instead of printing
// them, so run can keep bad input to one line on stderr.
func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// parseCommand parses the flags in front of the command and returns the
// command and its arguments untouched.
func parseCommand(fs *flag.FlagSet, args []string) ([]string, error) {
	if err := fs.Parse(args); err != nil {
		return nil, flagError(err)
	}
	return fs.Args(), nil
}

// parseInterspersed parses flags wherever they appear among the positional
// arguments, as in "enqueue easemob:push.single --key k", and returns the
// positional ones. A "--" ends the flags.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, flagError(err)
		}
		rest := fs.Args()
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			return append(pos, rest...), nil
		}
		if len(rest) == 0 {
			return pos, nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

func flagError(err error) error {
	if err == flag.ErrHelp {
		return err
	}
	return inputError{err}
}
