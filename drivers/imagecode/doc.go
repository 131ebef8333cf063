// Package imagecode reads QR codes and barcodes from pictures: a
// screenshot a customer sends, a picture file or one from the clipboard.
// It decodes PNG and JPEG with the standard library and finds every code
// in the picture with gozxing (QR, DataMatrix, Aztec, Code 128, Code 39,
// Code 93, EAN-13, EAN-8, UPC-A, UPC-E, ITF), trying hard: small codes in
// a big canvas, light codes on dark, slightly turned codes, barcodes on
// their side. Each code comes out with its format and its text passed
// through scanner.Normalize.
//
// It refuses before decoding what it will not read: data that is not a
// PNG or JPEG image, and images over MaxPixels. It must never decide
// anything about a code; it only delivers text.
package imagecode
