// PNG encode/decode with libpng's simplified API (png_image_*), which handles every
// colour type, bit depth, palette and tRNS for us and reports errors through
// image.message instead of longjmp-ing across C++ frames.
//
// Alpha: we ask for PNG_FORMAT_RGB with background == nullptr. For 8-bit (sRGB)
// output libpng then composites each pixel onto what is already in the output
// buffer, in linear light. The buffer is zero-filled first, so translucent pixels
// come out composited onto black and fully transparent ones are black.
#include "io/png.h"

#include <png.h>

#include <cstring>

#include "common/error.h"
#include "io/atomic_file.h"

namespace unigap {

namespace {

// 16384 x 16384 x 3 = 768 MiB decoded: anything larger is not an image unigap
// makes, and a hostile header must not make us allocate more.
constexpr uint32_t kMaxDim = 16384;

png_image fresh_image() {
  png_image image;
  std::memset(&image, 0, sizeof image);  // libpng requires opaque == NULL on entry
  image.version = PNG_IMAGE_VERSION;
  return image;
}

}  // namespace

std::vector<uint8_t> encode_png(const Image& img) {
  const std::string where = "PNG encoder";
  if (img.width <= 0 || img.height <= 0 || uint32_t(img.width) > kMaxDim || uint32_t(img.height) > kMaxDim) {
    throw UserError("cannot encode a " + std::to_string(img.width) + "x" + std::to_string(img.height) +
                        " image: expected 1.." + std::to_string(kMaxDim) + " pixels per side",
                    where);
  }
  const size_t expected = size_t(img.width) * size_t(img.height) * 3;
  if (img.rgb.size() != expected) {
    throw UserError("image buffer has " + std::to_string(img.rgb.size()) + " bytes, expected " +
                        std::to_string(expected) + " for " + std::to_string(img.width) + "x" +
                        std::to_string(img.height) + " RGB",
                    where);
  }
  png_image image = fresh_image();
  image.width = uint32_t(img.width);
  image.height = uint32_t(img.height);
  image.format = PNG_FORMAT_RGB;
  // Writing into a buffer of the documented worst-case size compresses once; asking
  // for the size first (memory == nullptr) would compress twice.
  png_alloc_size_t size = PNG_IMAGE_PNG_SIZE_MAX(image);
  std::vector<uint8_t> out(size);
  if (!png_image_write_to_memory(&image, out.data(), &size, 0, img.rgb.data(), 0, nullptr)) {
    const std::string msg = image.message;
    png_image_free(&image);
    throw UserError("PNG encoding failed: " + msg, where);
  }
  out.resize(size);
  return out;
}

void write_png(const std::string& path, const Image& img) {
  const std::vector<uint8_t> bytes = encode_png(img);
  write_file_atomic(path, std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}

Image decode_png(const uint8_t* data, size_t size, const std::string& origin) {
  // Check the signature ourselves: "not a PNG" is clearer than libpng's message.
  if (size < 8 || png_sig_cmp(data, 0, 8) != 0) {
    throw UserError("not a PNG: the data does not start with the PNG signature", origin);
  }
  png_image image = fresh_image();
  if (!png_image_begin_read_from_memory(&image, data, size)) {
    // On failure libpng has already released the image.
    throw UserError(std::string("invalid PNG: ") + image.message, origin);
  }
  if (image.width > kMaxDim || image.height > kMaxDim) {
    const std::string dims = std::to_string(image.width) + "x" + std::to_string(image.height);
    png_image_free(&image);
    throw UserError("PNG is " + dims + ", expected at most " + std::to_string(kMaxDim) + " pixels per side", origin);
  }
  // 16-bit files without gAMA/sRGB are almost always sRGB-encoded in practice;
  // libpng would otherwise assume linear and gamma-encode them on the way to 8 bits.
  image.flags |= PNG_IMAGE_FLAG_16BIT_sRGB;
  image.format = PNG_FORMAT_RGB;
  // Width and height are at most 2^14 each, so this product cannot overflow size_t;
  // cross-check with libpng's own figure anyway.
  const size_t bytes = size_t(image.width) * size_t(image.height) * 3;
  if (bytes != size_t(PNG_IMAGE_SIZE(image))) {
    png_image_free(&image);
    throw UserError("PNG decoded size does not match its dimensions", origin);
  }
  Image out;
  out.width = int(image.width);
  out.height = int(image.height);
  out.rgb.assign(bytes, 0);  // black: the background alpha is composited onto (see top of file)
  if (!png_image_finish_read(&image, nullptr, out.rgb.data(), 0, nullptr)) {
    // finish_read releases the image on failure too.
    throw UserError(std::string("invalid PNG: ") + image.message, origin);
  }
  return out;
}

Image read_png(const std::string& path) {
  const std::string content = read_file(path);
  return decode_png(reinterpret_cast<const uint8_t*>(content.data()), content.size(), path);
}

}  // namespace unigap
