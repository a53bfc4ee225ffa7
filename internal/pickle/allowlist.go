package pickle

// RefusedError is returned when a pickle imports something not allowed.
type RefusedError struct{ Global string }

func (e *RefusedError) Error() string {
	return "refused: the pickle imports " + e.Global + ", which is not on the allow-list of classes this decoder builds"
}

// functions are the callables a pickle may call, evaluated by Go code that
// only builds data.
var functions = map[string]bool{
	"_codecs.encode":                        true,
	"copyreg._reconstructor":                true,
	"builtins.set":                          true,
	"builtins.frozenset":                    true,
	"builtins.bytearray":                    true,
	"builtins.slice":                        true,
	"builtins.bytes":                        true,
	"collections.OrderedDict":               true,
	"numpy.dtype":                           true,
	"numpy.core.multiarray._reconstruct":    true,
	"numpy.core.multiarray.scalar":          true,
	"numpy.core.numeric._frombuffer":        true,
	"numpy._core.multiarray._reconstruct":   true,
	"numpy._core.multiarray.scalar":         true,
	"numpy._core.numeric._frombuffer":       true,
	"joblib.numpy_pickle.NumpyArrayWrapper": true,
}

// types are always allowed as values.
var types = map[string]bool{
	"numpy.ndarray": true, "builtins.object": true,
	"numpy.float64": true, "numpy.float32": true, "numpy.int64": true, "numpy.int32": true,
	"numpy.uint8": true, "numpy.bool_": true, "numpy.object_": true, "numpy.str_": true,
	"builtins.float": true, "builtins.int": true, "builtins.str": true, "builtins.bool": true, "builtins.object_": true,
}

func (d *decoder) global(mod, name string) error {
	// Python 2 module names, as protocol 2 writes them for builtins.
	switch mod {
	case "__builtin__":
		mod = "builtins"
	case "copy_reg":
		mod = "copyreg"
	}
	full := mod + "." + name
	if !functions[full] && !types[full] && !d.opt.Classes[full] && !d.opt.Types[full] {
		return &RefusedError{Global: full}
	}
	d.push(&Global{Module: mod, Name: name})
	return nil
}
