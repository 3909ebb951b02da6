package rules

import (
	"fmt"
	"strings"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
)

// Vendor fields (msg.extra.NAME) are absent from messages that do not send them. So that a
// rule on one need not guard every use, extraPatcher rewrites the operations on them that
// would fail on a missing (nil) value: an ordering comparison (<, >, <=, >=) with a missing
// side is false, and a missing value in a boolean position (!, not, &&, ||, and, or) is false.
// == and != already treat nil as a value (msg.extra.x == nil tests for absence); arithmetic
// needs a default: (msg.extra.x ?? 0) * 2.
const (
	extraCompareFunc = "_lw_extra_compare"
	extraBoolFunc    = "_lw_extra_bool"
)

type extraPatcher struct{}

func (extraPatcher) Visit(node *ast.Node) {
	switch n := (*node).(type) {
	case *ast.BinaryNode:
		switch n.Operator {
		case "<", ">", "<=", ">=":
			if isExtra(n.Left) || isExtra(n.Right) {
				ast.Patch(node, &ast.CallNode{Callee: &ast.IdentifierNode{Value: extraCompareFunc},
					Arguments: []ast.Node{&ast.StringNode{Value: n.Operator}, n.Left, n.Right}})
			}
		case "&&", "||", "and", "or":
			n.Left, n.Right = extraBool(n.Left), extraBool(n.Right)
		}
	case *ast.UnaryNode:
		if n.Operator == "!" || n.Operator == "not" {
			n.Node = extraBool(n.Node)
		}
	}
}

func extraBool(n ast.Node) ast.Node {
	if !isExtra(n) {
		return n
	}
	c := &ast.CallNode{Callee: &ast.IdentifierNode{Value: extraBoolFunc}, Arguments: []ast.Node{n}}
	c.SetLocation(n.Location())
	return c
}

// isExtra reports whether n reads a vendor field: msg.extra.NAME, msg.extra["NAME"], msg?.extra?.NAME.
func isExtra(n ast.Node) bool {
	if c, ok := n.(*ast.ChainNode); ok {
		n = c.Node
	}
	m, ok := n.(*ast.MemberNode)
	if !ok {
		return false
	}
	parent, ok := m.Node.(*ast.MemberNode)
	if !ok {
		return false
	}
	prop, ok := parent.Property.(*ast.StringNode)
	if !ok || prop.Value != "extra" {
		return false
	}
	id, ok := parent.Node.(*ast.IdentifierNode)
	return ok && id.Value == "msg"
}

// compareMaybe is an ordering comparison that is false when either side is missing (nil).
func compareMaybe(op string, a, b any) (bool, error) {
	if a == nil || b == nil {
		return false, nil
	}
	if x, ok := a.(string); ok {
		y, ok := b.(string)
		if !ok {
			return false, fmt.Errorf("%v %s %v: cannot compare string with %T", a, op, b, b)
		}
		return order(op, strings.Compare(x, y)), nil
	}
	x, okx := toFloat(a)
	y, oky := toFloat(b)
	if !okx || !oky {
		return false, fmt.Errorf("%v %s %v: cannot compare %T with %T", a, op, b, a, b)
	}
	c := 0
	switch {
	case x < y:
		c = -1
	case x > y:
		c = 1
	}
	return order(op, c), nil
}

func order(op string, c int) bool {
	switch op {
	case "<":
		return c < 0
	case ">":
		return c > 0
	case "<=":
		return c <= 0
	}
	return c >= 0
}

func toFloat(v any) (float64, bool) {
	switch v := v.(type) {
	case float64:
		return v, true
	case float32:
		return float64(v), true
	case int:
		return float64(v), true
	case int64:
		return float64(v), true
	case int32:
		return float64(v), true
	case uint64:
		return float64(v), true
	}
	return 0, false
}

// extraOptions are the expression options of absent-safe vendor fields.
func extraOptions() []expr.Option {
	return []expr.Option{
		expr.Function(extraCompareFunc, func(p ...any) (any, error) {
			return compareMaybe(p[0].(string), p[1], p[2])
		}, new(func(string, any, any) bool)),
		expr.Function(extraBoolFunc, func(p ...any) (any, error) {
			b, _ := p[0].(bool)
			return b, nil
		}, new(func(any) bool)),
		expr.Patch(extraPatcher{}),
	}
}
