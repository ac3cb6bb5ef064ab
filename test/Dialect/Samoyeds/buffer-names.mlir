// RUN: samoyeds-opt %s -split-input-file -verify-diagnostics

// `samoyeds.name` names a bundle buffer, which the runtime binds by name: it
// must be a non-empty string of printable ASCII that no other argument or
// result of the function has. The verifier checks it as the IR is parsed.

// expected-error @+1 {{'func.func' op argument 1: samoyeds.name is empty}}
func.func @empty(%x: tensor<?x64xbf16> {samoyeds.name = "x"},
                 %y: tensor<?x64xbf16> {samoyeds.name = ""}) {
  return
}

// -----

// expected-error @+1 {{'func.func' op argument 2: samoyeds.name "x" is also the name of argument 0}}
func.func @duplicate_argument(%x: tensor<?x64xbf16> {samoyeds.name = "x"},
                              %y: tensor<?x64xbf16> {samoyeds.name = "y"},
                              %z: tensor<?x64xbf16> {samoyeds.name = "x"}) {
  return
}

// -----

// expected-error @+1 {{'func.func' op result 1: samoyeds.name "y" is also the name of result 0}}
func.func @duplicate_result(%x: tensor<?x64xbf16> {samoyeds.name = "x"})
    -> (tensor<?x64xbf16> {samoyeds.name = "y"},
        tensor<?x64xbf16> {samoyeds.name = "y"}) {
  return %x, %x : tensor<?x64xbf16>, tensor<?x64xbf16>
}

// -----

// expected-error @+1 {{'func.func' op result 0: samoyeds.name "x" is also the name of argument 0}}
func.func @result_as_argument(%x: tensor<?x64xbf16> {samoyeds.name = "x"})
    -> (tensor<?x64xbf16> {samoyeds.name = "x"}) {
  return %x : tensor<?x64xbf16>
}

// -----

// expected-error @+1 {{'func.func' op argument 0: samoyeds.name "a\0Ab" has a byte that is not printable ASCII (0x0a)}}
func.func @newline(%x: tensor<?x64xbf16> {samoyeds.name = "a\nb"}) {
  return
}

// -----

// expected-error @+1 {{'func.func' op result 0: samoyeds.name "\C3\A9" has a byte that is not printable ASCII (0xc3)}}
func.func @not_ascii(%x: tensor<?x64xbf16>) -> (tensor<?x64xbf16> {samoyeds.name = "é"}) {
  return %x : tensor<?x64xbf16>
}

// -----

// expected-error @+1 {{'func.func' op argument 0: samoyeds.name must be a string, got 3 : i64}}
func.func @not_a_string(%x: tensor<?x64xbf16> {samoyeds.name = 3}) {
  return
}

// -----

// expected-error @+1 {{'func.func' op argument 0: unknown attribute 'samoyeds.nmae' (expected samoyeds.name)}}
func.func @misspelt(%x: tensor<?x64xbf16> {samoyeds.nmae = "x"}) {
  return
}

// -----

// Printable ASCII, spaces and dots included, is accepted.
func.func @printable(%x: tensor<?x64xbf16> {samoyeds.name = "x y.z"},
                     %y: tensor<?x64xbf16> {samoyeds.name = "~!@#"})
    -> (tensor<?x64xbf16> {samoyeds.name = "out"}) {
  return %x : tensor<?x64xbf16>
}
