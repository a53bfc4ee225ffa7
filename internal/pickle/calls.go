package pickle

import "fmt"

// call evaluates fn(*args, **kw) for an allowed callable: one of the data
// constructors, or an allowed class, which becomes an inert *Object.
func (d *decoder) call(fn any, args Tuple, kw *Dict) (any, error) {
	g, ok := fn.(*Global)
	if !ok {
		return nil, d.fail("calling a %s", TypeName(fn))
	}
	arg := func(i int) any {
		if i < len(args) {
			return args[i]
		}
		return nil
	}
	switch name := g.String(); name {
	case "_codecs.encode":
		s, ok := arg(0).(string)
		enc, _ := arg(1).(string)
		if !ok || (enc != "latin1" && enc != "latin-1") {
			return nil, d.fail("_codecs.encode(%s, %q) is not a latin1 byte string", TypeName(arg(0)), enc)
		}
		return latin1(s), nil
	case "copyreg._reconstructor":
		cls, ok := arg(0).(*Global)
		if !ok || !d.opt.Classes[cls.String()] {
			return nil, &RefusedError{Global: TypeName(arg(0))}
		}
		return &Object{Class: cls}, nil
	case "builtins.set", "builtins.frozenset":
		s := &Set{}
		if l, ok := arg(0).(*List); ok {
			s.Items = append(s.Items, l.Items...)
		}
		return s, nil
	case "builtins.bytes", "builtins.bytearray":
		switch v := arg(0).(type) {
		case nil:
			return []byte{}, nil
		case []byte:
			return v, nil
		case string:
			return latin1(v), nil
		}
		return nil, d.fail("bytearray(%s)", TypeName(arg(0)))
	case "builtins.slice":
		return &Object{Class: g, Args: args}, nil // plain data: start, stop, step
	case "collections.OrderedDict":
		m := &Dict{}
		if l, ok := arg(0).(*List); ok {
			for _, it := range l.Items {
				p, ok := it.(Tuple)
				if !ok || len(p) != 2 {
					return nil, d.fail("OrderedDict item is a %s", TypeName(it))
				}
				m.set(p[0], p[1])
			}
		}
		return m, nil
	case "numpy.dtype":
		s, ok := arg(0).(string)
		if !ok {
			return nil, d.fail("numpy.dtype(%s)", TypeName(arg(0)))
		}
		dt, err := parseDType(s)
		if err != nil {
			return nil, d.fail("%v", err)
		}
		return dt, nil
	case "numpy.core.multiarray._reconstruct", "numpy._core.multiarray._reconstruct":
		if cls, ok := arg(0).(*Global); !ok || cls.String() != "numpy.ndarray" {
			return nil, d.fail("numpy arrays of class %s are not supported", TypeName(arg(0)))
		}
		return &Array{}, nil
	case "numpy.core.multiarray.scalar", "numpy._core.multiarray.scalar":
		dt, ok := arg(0).(*DType)
		if !ok {
			return nil, d.fail("numpy scalar without a dtype")
		}
		v, err := scalar(dt, arg(1))
		if err != nil {
			return nil, d.fail("%v", err)
		}
		return v, nil
	case "numpy.core.numeric._frombuffer", "numpy._core.numeric._frombuffer":
		dt, ok := arg(1).(*DType)
		if !ok {
			return nil, d.fail("numpy buffer without a dtype")
		}
		shape, err := shapeOf(arg(2))
		if err != nil {
			return nil, d.fail("%v", err)
		}
		order, _ := arg(3).(string)
		a := &Array{}
		if err := a.fill(shape, dt, arg(0), order == "F"); err != nil {
			return nil, d.fail("%v", err)
		}
		return a, nil
	default:
		if name == "joblib.numpy_pickle.NumpyArrayWrapper" || d.opt.Classes[name] {
			return &Object{Class: g, Args: args, Kwargs: kw}, nil
		}
		return nil, d.fail("%s may appear as a value but not be called", name)
	}
}

// build applies BUILD's state to obj, the top of the stack.
func (d *decoder) build(obj, state any) error {
	switch o := obj.(type) {
	case *Array:
		t, ok := state.(Tuple)
		if !ok || len(t) != 5 {
			return d.fail("numpy array state is a %s, want a 5-tuple", TypeName(state))
		}
		shape, err := shapeOf(t[1])
		if err != nil {
			return d.fail("%v", err)
		}
		dt, ok := t[2].(*DType)
		if !ok {
			return d.fail("numpy array state has no dtype")
		}
		fortran, _ := t[3].(bool)
		if err := o.fill(shape, dt, t[4], fortran); err != nil {
			return d.fail("%v", err)
		}
	case *DType:
		if err := o.setState(state); err != nil {
			return d.fail("%v", err)
		}
	case *Object:
		if o.Class.String() == "joblib.numpy_pickle.NumpyArrayWrapper" {
			a, err := d.joblibArray(state)
			if err != nil {
				return err
			}
			d.stack[len(d.stack)-1] = a
			return nil
		}
		if o.State != nil {
			return d.fail("%s built twice", o.Class)
		}
		o.State = state
	case *Dict:
		s, ok := state.(*Dict)
		if !ok {
			return d.fail("BUILD on a dict with a %s", TypeName(state))
		}
		for i, k := range s.Keys {
			o.set(k, s.Values[i])
		}
	default:
		return d.fail("BUILD on a %s", TypeName(obj))
	}
	return nil
}

// joblibArray reads the array that joblib writes into the stream right
// after a NumpyArrayWrapper: a nested protocol-2 pickle for object arrays;
// otherwise a padding-length byte and padding (joblib ≥ 1.2), then the raw
// items.
func (d *decoder) joblibArray(state any) (*Array, error) {
	st, ok := state.(*Dict)
	if !ok {
		return nil, d.fail("joblib array wrapper state is a %s", TypeName(state))
	}
	get := func(k string) any { v, _ := st.Get(k); return v }
	dt, ok := get("dtype").(*DType)
	if !ok {
		return nil, d.fail("joblib array wrapper without a dtype")
	}
	shape, err := shapeOf(get("shape"))
	if err != nil {
		return nil, d.fail("%v", err)
	}
	order, _ := get("order").(string)
	if dt.Kind == 'O' {
		if d.nested > 0 {
			return nil, d.fail("nested joblib object arrays")
		}
		sub := newDecoder(d.data[d.pos:], d.opt)
		sub.nested = d.nested + 1
		v, err := sub.run()
		if err != nil {
			return nil, fmt.Errorf("joblib object array at byte %d: %w", d.pos, err)
		}
		d.pos += sub.pos
		a, ok := v.(*Array)
		if !ok || a.DType == nil {
			return nil, d.fail("joblib object array decodes to a %s", TypeName(v))
		}
		return a, nil
	}
	if v, ok := st.Get("numpy_array_alignment_bytes"); ok && v != nil {
		pad, err := d.byte1()
		if err != nil {
			return nil, err
		}
		if _, err := d.take(uint64(pad)); err != nil {
			return nil, err
		}
	}
	n, err := count(shape)
	if err != nil {
		return nil, d.fail("%v", err)
	}
	raw, err := d.take(uint64(n) * uint64(dt.ItemSize))
	if err != nil {
		return nil, err
	}
	a := &Array{}
	if err := a.fill(shape, dt, raw, order == "F"); err != nil {
		return nil, d.fail("%v", err)
	}
	return a, nil
}
