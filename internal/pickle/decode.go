package pickle

import "fmt"

// Options configure Decode.
type Options struct {
	// Classes are the classes, as "module.Name", whose instances may be
	// created; they become *Object values. Anything else a pickle imports
	// must be one of the built-in data constructors (see functions) or a
	// type in Types, or decoding stops with a *RefusedError.
	Classes map[string]bool
	// Types are classes that may appear as values (a dtype parameter such
	// as numpy.float64) but may not be instantiated.
	Types map[string]bool
	// MaxDepth bounds the nesting of marks (tuples, lists and dicts built
	// from marked items); default 1,000.
	MaxDepth int
}

// Decode decodes one pickle from data and returns its value. Trailing
// bytes after the STOP opcode are an error.
func Decode(data []byte, opt Options) (any, error) {
	d := newDecoder(data, opt)
	v, err := d.run()
	if err != nil {
		return nil, err
	}
	if d.pos != len(data) {
		return nil, fmt.Errorf("pickle: %d bytes after the end of the pickle", len(data)-d.pos)
	}
	return v, nil
}

type decoder struct {
	data  []byte
	pos   int
	opt   Options
	stack []any
	marks []int
	memo  map[int]any
	// nested counts the pickles decoded inside this one (joblib object
	// arrays), to bound recursion.
	nested int
}

func newDecoder(data []byte, opt Options) *decoder {
	if opt.MaxDepth <= 0 {
		opt.MaxDepth = 1000
	}
	return &decoder{data: data, opt: opt, memo: map[int]any{}}
}

func (d *decoder) fail(format string, args ...any) error {
	return fmt.Errorf("pickle: at byte %d: %s", d.pos, fmt.Sprintf(format, args...))
}

func (d *decoder) run() (any, error) {
	for {
		op, err := d.byte1()
		if err != nil {
			return nil, d.fail("the pickle ends without a STOP opcode")
		}
		if op == '.' { // STOP
			if len(d.stack) != 1 || len(d.marks) != 0 {
				return nil, d.fail("STOP with %d values on the stack", len(d.stack))
			}
			return d.stack[0], nil
		}
		if err := d.step(op); err != nil {
			return nil, err
		}
	}
}
