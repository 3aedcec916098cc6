package cli

import "github.com/fatih/color"

// ColorEnabled decides colour for one stream: only on a terminal, with
// NO_COLOR unset or empty, TERM not "dumb" and no --no-color. fatih/color's
// global NoColor looks at stdout only, so callers decide per stream here.
func (e *Env) ColorEnabled(tty, noColorFlag bool) bool {
	return tty && !noColorFlag && e.getenv("NO_COLOR") == "" && e.getenv("TERM") != "dumb"
}

// Palette holds the colours used for one stream.
type Palette struct {
	OK, Warn, Bad, Dim, Bold *color.Color
}

// NewPalette returns colours switched on or off explicitly, independent of
// fatih/color's global default.
func NewPalette(enabled bool) *Palette {
	mk := func(a ...color.Attribute) *color.Color {
		c := color.New(a...)
		if enabled {
			c.EnableColor()
		} else {
			c.DisableColor()
		}
		return c
	}
	return &Palette{
		OK:   mk(color.FgGreen),
		Warn: mk(color.FgYellow),
		Bad:  mk(color.FgRed, color.Bold),
		Dim:  mk(color.Faint),
		Bold: mk(color.Bold),
	}
}

// Palettes returns the palettes for stdout and stderr.
func (e *Env) Palettes(g *Globals) (out, err *Palette) {
	return NewPalette(e.ColorEnabled(e.IsTTY.Out, g.NoColor)), NewPalette(e.ColorEnabled(e.IsTTY.Err, g.NoColor))
}
