package cli

import (
	"io"
	"strings"

	"github.com/olekukonko/tablewriter"
)

// Table is tabular human output. On a terminal it renders a boxed table
// (the only place tablewriter is imported: its API changed at v1); elsewhere
// it prints plain tab-separated lines without header, truncation or colour,
// so scripts can cut(1) it.
type Table struct {
	w      io.Writer
	tty    bool
	header []string
	rows   [][]string
}

// NewTable returns a table writing to w; tty selects the rendering.
func NewTable(w io.Writer, tty bool, header ...string) *Table {
	return &Table{w: w, tty: tty, header: header}
}

// Append adds a row; cells are made printable.
func (t *Table) Append(cells ...string) {
	row := make([]string, len(cells))
	for i, c := range cells {
		row[i] = Printable(c)
	}
	t.rows = append(t.rows, row)
}

// Render writes the table.
func (t *Table) Render() error {
	if !t.tty {
		var b strings.Builder
		for _, r := range t.rows {
			b.WriteString(strings.Join(r, "\t"))
			b.WriteByte('\n')
		}
		_, err := io.WriteString(t.w, b.String())
		return err
	}
	tw := tablewriter.NewTable(t.w)
	if len(t.header) > 0 {
		h := make([]any, len(t.header))
		for i, s := range t.header {
			h[i] = s
		}
		tw.Header(h...)
	}
	for _, r := range t.rows {
		if err := tw.Append(r); err != nil {
			return err
		}
	}
	return tw.Render()
}
