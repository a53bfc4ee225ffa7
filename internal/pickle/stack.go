package pickle

func (d *decoder) push(v any) { d.stack = append(d.stack, v) }

func (d *decoder) pop() (any, error) {
	if len(d.stack) == 0 || (len(d.marks) > 0 && len(d.stack) <= d.marks[len(d.marks)-1]) {
		return nil, d.fail("stack underflow")
	}
	v := d.stack[len(d.stack)-1]
	d.stack = d.stack[:len(d.stack)-1]
	return v, nil
}

func (d *decoder) top() (any, error) {
	if len(d.stack) == 0 {
		return nil, d.fail("stack underflow")
	}
	return d.stack[len(d.stack)-1], nil
}

// popN pops the top n items, in the order they were pushed.
func (d *decoder) popN(n int) ([]any, error) {
	floor := 0
	if len(d.marks) > 0 {
		floor = d.marks[len(d.marks)-1]
	}
	if len(d.stack)-n < floor {
		return nil, d.fail("stack underflow")
	}
	items := append([]any(nil), d.stack[len(d.stack)-n:]...)
	d.stack = d.stack[:len(d.stack)-n]
	return items, nil
}

// popMark pops the items pushed since the last MARK.
func (d *decoder) popMark() ([]any, error) {
	if len(d.marks) == 0 {
		return nil, d.fail("no MARK to pop to")
	}
	m := d.marks[len(d.marks)-1]
	d.marks = d.marks[:len(d.marks)-1]
	items := append([]any(nil), d.stack[m:]...)
	d.stack = d.stack[:m]
	return items, nil
}

func (d *decoder) extend(items []any) error {
	t, err := d.top()
	if err != nil {
		return err
	}
	switch l := t.(type) {
	case *List:
		l.Items = append(l.Items, items...)
	case *Set:
		l.Items = append(l.Items, items...)
	default:
		return d.fail("APPEND to a %s", TypeName(t))
	}
	return nil
}

func (d *decoder) setItems(items []any) error {
	t, err := d.top()
	if err != nil {
		return err
	}
	m, ok := t.(*Dict)
	if !ok {
		return d.fail("SETITEM on a %s", TypeName(t))
	}
	for i := 0; i < len(items); i += 2 {
		m.set(items[i], items[i+1])
	}
	return nil
}

func (d *decoder) put(i int) error {
	v, err := d.top()
	if err != nil {
		return err
	}
	d.memo[i] = v
	return nil
}

func (d *decoder) get(i int) error {
	v, ok := d.memo[i]
	if !ok {
		return d.fail("memo key %d was never stored", i)
	}
	d.push(v)
	return nil
}
