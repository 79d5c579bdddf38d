package main

import (
	"math"
	"strings"
	"testing"
)

// jacobi diagonalises a symmetric matrix: A v = λ v for every column.
func TestJacobi(t *testing.T) {
	a := [][]float64{{4, 1, 2}, {1, 3, 0}, {2, 0, 5}}
	orig := [][]float64{{4, 1, 2}, {1, 3, 0}, {2, 0, 5}}
	vals, vecs := jacobi(a)
	for e := range vals {
		for i := range orig {
			var av float64
			for k := range orig {
				av += orig[i][k] * vecs[k][e]
			}
			if math.Abs(av-vals[e]*vecs[i][e]) > 1e-9 {
				t.Fatalf("eigenpair %d: (Av)_%d = %v, λv = %v", e, i, av, vals[e]*vecs[i][e])
			}
		}
	}
	if s := vals[0] + vals[1] + vals[2]; math.Abs(s-12) > 1e-9 {
		t.Errorf("eigenvalues sum to %v, want the trace 12", s)
	}
}

// Words that occur in the same prompts land close in the word space, words
// that never share a prompt far apart, and a prompt's vector has length 1.
func TestWordSpace(t *testing.T) {
	var docs []string
	for i := range 30 {
		docs = append(docs, "apples oranges fruit "+strings.Repeat("x", i%3+1))
		docs = append(docs, "trains buses travel "+strings.Repeat("y", i%3+1))
	}
	ws := fitWordSpace(docs)
	cos := func(a, b []float64) float64 {
		var s float64
		for i := range a {
			s += a[i] * b[i]
		}
		return s
	}
	apples, fruit, buses := ws.vec("apples"), ws.vec("fruit oranges"), ws.vec("buses")
	if c := cos(apples, apples); math.Abs(c-1) > 1e-9 {
		t.Errorf("|vec| = %v, want 1", c)
	}
	if c := cos(apples, fruit); c < 0.9 {
		t.Errorf("cos(apples, fruit oranges) = %.3f, want near 1", c)
	}
	if c := cos(apples, buses); math.Abs(c) > 0.1 {
		t.Errorf("cos(apples, buses) = %.3f, want near 0", c)
	}
}
