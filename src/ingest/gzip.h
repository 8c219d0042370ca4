// Request body decompression for the ingest endpoints (Content-Encoding: gzip / deflate), with
// an output cap so that a small compressed body cannot expand into an unbounded allocation.
//
// Thread-safety: stateless; safe to call concurrently.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "core/status.h"

namespace tessera::ingest {

// Inflates a gzip stream (one or more concatenated members) or a zlib stream; the format is
// detected from the header. A raw deflate stream without any header is accepted as a fallback,
// since some HTTP clients send that for "Content-Encoding: deflate".
// Errors: TooLarge when the output would exceed max_output_bytes;
//         InvalidArgument("invalid gzip body: ...") on corrupt or truncated input.
Result<std::string> Gunzip(std::string_view compressed, size_t max_output_bytes);

// Decodes a request body per its Content-Encoding header (case-insensitive, surrounding spaces
// ignored): "" or "identity" -> the body itself; "gzip", "x-gzip", "deflate" -> Gunzip.
// Errors: Unsupported("unsupported Content-Encoding: br") for anything else; TooLarge when the
// decoded body exceeds max_bytes (for identity too); InvalidArgument on corrupt input.
Result<std::string> DecodeBody(std::string_view content_encoding, std::string body,
                               size_t max_bytes);

// Compresses data as a single gzip member. For tests, fuzz seeds and clients; the server never
// compresses.
std::string Gzip(std::string_view data);

}  // namespace tessera::ingest
