package ftpflow

import (
	"reflect"
	"testing"
)

// TestSessionHoldsOnlyTheResult: what a sink receives carries no parser or
// tracker state; that lives in sessionState.
func TestSessionHoldsOnlyTheResult(t *testing.T) {
	typ := reflect.TypeFor[Session]()
	for i := range typ.NumField() {
		if f := typ.Field(i); !f.IsExported() {
			t.Errorf("Session.%s is working state, not result: move it to sessionState", f.Name)
		}
	}
}
