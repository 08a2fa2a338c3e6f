//! The crate's only `unsafe`: OpenJPEG's C API (openjpeg-sys), wrapped as two calls that take
//! and give Rust values: [`encode`] an image held in memory to a JPEG 2000 codestream (J2K, no
//! JP2 box), and [`decode`] a codestream back to an image. Every OpenJPEG object lives in a guard
//! that frees it on every path; nothing OpenJPEG owns escapes.
//!
//! Each call creates its own codec and streams and OpenJPEG keeps no global state, so calls run
//! on several threads at once. OpenJPEG's own worker threads are never enabled: the engine's pool
//! decides how many cores encode.
//!
//! Must never: hand out a pointer or slice that outlives its guard, or let OpenJPEG read or write
//! past a Rust buffer (the stream callbacks clamp every length).

use std::ffi::{c_char, c_void, CStr};
use std::ptr;

use openjpeg_sys as sys;

/// One component's description: every component here covers the whole image (no subsampling).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ComponentInfo {
    pub precision: u32,
    pub signed: bool,
}

/// How to code the image: lossless 5/3 wavelet, one quality layer, one tile.
pub(crate) struct EncodeOptions {
    /// Apply the reversible colour transform (RCT) across components 0–2.
    pub colour_transform: bool,
}

/// Collects OpenJPEG's error messages for the caller's error text.
unsafe extern "C" fn collect_message(msg: *const c_char, client_data: *mut c_void) {
    if msg.is_null() || client_data.is_null() {
        return;
    }
    // SAFETY: client_data is the `String` the guard's owner registered and keeps alive for the
    // codec's life; msg is a NUL-terminated string from OpenJPEG.
    let errors = unsafe { &mut *(client_data as *mut String) };
    let text = unsafe { CStr::from_ptr(msg) }.to_string_lossy();
    if !errors.is_empty() {
        errors.push_str("; ");
    }
    errors.push_str(text.trim_end());
}

unsafe extern "C" fn ignore_message(_msg: *const c_char, _client_data: *mut c_void) {}

struct Codec(*mut sys::opj_codec_t);

impl Codec {
    /// A codec whose error messages go to `errors`, which must outlive it.
    fn new(decoder: bool, errors: &mut String) -> Result<Codec, String> {
        // SAFETY: plain constructors; a null return is handled.
        let raw = unsafe {
            if decoder {
                sys::opj_create_decompress(sys::CODEC_FORMAT::OPJ_CODEC_J2K)
            } else {
                sys::opj_create_compress(sys::CODEC_FORMAT::OPJ_CODEC_J2K)
            }
        };
        if raw.is_null() {
            return Err("OpenJPEG could not create a codec".into());
        }
        let codec = Codec(raw);
        // SAFETY: codec is valid; `errors` outlives the codec (it is declared before it by every
        // caller, so it is dropped after it).
        unsafe {
            sys::opj_set_error_handler(
                codec.0,
                Some(collect_message),
                errors as *mut String as *mut c_void,
            );
            sys::opj_set_warning_handler(codec.0, Some(ignore_message), ptr::null_mut());
            sys::opj_set_info_handler(codec.0, Some(ignore_message), ptr::null_mut());
        }
        Ok(codec)
    }
}

impl Drop for Codec {
    fn drop(&mut self) {
        // SAFETY: created by opj_create_*, destroyed once.
        unsafe { sys::opj_destroy_codec(self.0) }
    }
}

struct Stream(*mut sys::opj_stream_t);

impl Drop for Stream {
    fn drop(&mut self) {
        // SAFETY: created by opj_stream_create, destroyed once; its user data is not freed by
        // OpenJPEG (no free function is registered).
        unsafe { sys::opj_stream_destroy(self.0) }
    }
}

/// An image OpenJPEG allocated (for encoding, or as decoded).
pub(crate) struct Image(*mut sys::opj_image_t);

impl Drop for Image {
    fn drop(&mut self) {
        if !self.0.is_null() {
            // SAFETY: allocated by opj_image_create or opj_read_header, destroyed once.
            unsafe { sys::opj_image_destroy(self.0) }
        }
    }
}

impl Image {
    pub fn width(&self) -> u32 {
        // SAFETY: a non-null image from OpenJPEG (checked where it is made).
        let image = unsafe { &*self.0 };
        image.x1 - image.x0
    }

    pub fn height(&self) -> u32 {
        // SAFETY: as in width().
        let image = unsafe { &*self.0 };
        image.y1 - image.y0
    }

    /// Each component's description and samples (row by row), when it covers the whole image
    /// at full resolution; `None` for a component that does not (subsampled, reduced, empty).
    pub fn components(&self) -> Vec<Option<(ComponentInfo, &[i32])>> {
        // SAFETY: `comps` has `numcomps` entries; each `data` (when non-null) has w × h samples
        // and lives as long as the image, which the returned slices borrow.
        let image = unsafe { &*self.0 };
        let (width, height) = (self.width(), self.height());
        (0..image.numcomps as usize)
            .map(|i| {
                let c = unsafe { &*image.comps.add(i) };
                let whole = c.dx == 1
                    && c.dy == 1
                    && c.w == width
                    && c.h == height
                    && c.factor == 0
                    && !c.data.is_null();
                whole.then(|| {
                    let len = c.w as usize * c.h as usize;
                    let data = unsafe { std::slice::from_raw_parts(c.data, len) };
                    let info = ComponentInfo {
                        precision: c.prec,
                        signed: c.sgnd != 0,
                    };
                    (info, data)
                })
            })
            .collect()
    }
}

/// Where an encoder's output goes: a growable buffer with a position (OpenJPEG may seek back).
#[derive(Default)]
struct Output {
    bytes: Vec<u8>,
    position: usize,
}

unsafe extern "C" fn output_write(buffer: *mut c_void, len: usize, user: *mut c_void) -> usize {
    // SAFETY: user is the `Output` registered with this stream and alive for its life; buffer
    // holds `len` bytes from OpenJPEG.
    let out = unsafe { &mut *(user as *mut Output) };
    let data = unsafe { std::slice::from_raw_parts(buffer as *const u8, len) };
    let end = out.position + len;
    if out.bytes.len() < end {
        out.bytes.resize(end, 0);
    }
    out.bytes[out.position..end].copy_from_slice(data);
    out.position = end;
    len
}

unsafe extern "C" fn output_skip(len: i64, user: *mut c_void) -> i64 {
    // SAFETY: as in output_write.
    let out = unsafe { &mut *(user as *mut Output) };
    match usize::try_from(out.position as i64 + len) {
        Ok(p) => {
            out.position = p;
            len
        }
        Err(_) => -1,
    }
}

unsafe extern "C" fn output_seek(position: i64, user: *mut c_void) -> sys::OPJ_BOOL {
    // SAFETY: as in output_write.
    let out = unsafe { &mut *(user as *mut Output) };
    match usize::try_from(position) {
        Ok(p) => {
            out.position = p;
            1
        }
        Err(_) => 0,
    }
}

/// What a decoder reads: a borrowed codestream with a position.
struct Input<'a> {
    bytes: &'a [u8],
    position: usize,
}

unsafe extern "C" fn input_read(buffer: *mut c_void, len: usize, user: *mut c_void) -> usize {
    // SAFETY: user is the `Input` registered with this stream and alive for its life; buffer has
    // room for `len` bytes.
    let input = unsafe { &mut *(user as *mut Input) };
    let remaining = input.bytes.len() - input.position;
    if remaining == 0 {
        return usize::MAX; // (OPJ_SIZE_T)-1: end of stream
    }
    let n = len.min(remaining);
    let src = &input.bytes[input.position..input.position + n];
    unsafe { ptr::copy_nonoverlapping(src.as_ptr(), buffer as *mut u8, n) };
    input.position += n;
    n
}

unsafe extern "C" fn input_skip(len: i64, user: *mut c_void) -> i64 {
    // SAFETY: as in input_read.
    let input = unsafe { &mut *(user as *mut Input) };
    let target = (input.position as i64 + len).clamp(0, input.bytes.len() as i64);
    let moved = target - input.position as i64;
    input.position = target as usize;
    moved
}

unsafe extern "C" fn input_seek(position: i64, user: *mut c_void) -> sys::OPJ_BOOL {
    // SAFETY: as in input_read.
    let input = unsafe { &mut *(user as *mut Input) };
    match usize::try_from(position) {
        Ok(p) if p <= input.bytes.len() => {
            input.position = p;
            1
        }
        _ => 0,
    }
}

fn failure(what: &str, errors: &str) -> String {
    if errors.is_empty() {
        format!("OpenJPEG: {what} failed")
    } else {
        format!("OpenJPEG: {what} failed: {errors}")
    }
}

/// Encodes a `width` × `height` image of `components` (all full size) losslessly. `fill` writes
/// component `i`'s samples, row by row, into the slice it is given.
pub(crate) fn encode(
    width: u32,
    height: u32,
    components: &[ComponentInfo],
    options: &EncodeOptions,
    fill: &mut dyn FnMut(usize, &mut [i32]),
) -> Result<Vec<u8>, String> {
    let mut errors = String::new();
    let codec = Codec::new(false, &mut errors)?;

    let mut params: Vec<sys::opj_image_cmptparm_t> = components
        .iter()
        .map(|c| sys::opj_image_cmptparm_t {
            dx: 1,
            dy: 1,
            w: width,
            h: height,
            x0: 0,
            y0: 0,
            prec: c.precision,
            bpp: c.precision,
            sgnd: u32::from(c.signed),
        })
        .collect();
    let colour_space = if components.len() == 3 {
        sys::COLOR_SPACE::OPJ_CLRSPC_SRGB
    } else {
        sys::COLOR_SPACE::OPJ_CLRSPC_GRAY
    };
    // SAFETY: params has components.len() valid entries.
    let image = Image(unsafe {
        sys::opj_image_create(params.len() as u32, params.as_mut_ptr(), colour_space)
    });
    if image.0.is_null() {
        return Err("OpenJPEG could not allocate the image".into());
    }
    let samples = width as usize * height as usize;
    // SAFETY: the image has params.len() components, each with a w × h sample buffer that
    // opj_image_create allocated; the slices end before the image is used again.
    unsafe {
        let img = &mut *image.0;
        img.x0 = 0;
        img.y0 = 0;
        img.x1 = width;
        img.y1 = height;
        for i in 0..params.len() {
            let comp = &mut *img.comps.add(i);
            if comp.data.is_null() {
                return Err("OpenJPEG did not allocate component data".into());
            }
            fill(i, std::slice::from_raw_parts_mut(comp.data, samples));
        }
    }

    // SAFETY: a zeroed opj_cparameters_t is a valid argument for the defaults call, which fills it.
    let mut cp: sys::opj_cparameters_t = unsafe { std::mem::zeroed() };
    unsafe { sys::opj_set_default_encoder_parameters(&mut cp) };
    cp.tcp_numlayers = 1;
    cp.tcp_rates[0] = 0.0; // 0 = lossless layer
    cp.cp_disto_alloc = 1;
    cp.irreversible = 0; // reversible 5/3 wavelet
    cp.tcp_mct = c_char::from(options.colour_transform);
    // Each further resolution level halves the image; OpenJPEG refuses levels smaller than
    // one sample, so small images get fewer (the default is 6).
    let smallest = width.min(height).max(1);
    cp.numresolution = (smallest.ilog2() as i32 + 1).min(6);

    // SAFETY: codec, parameters and image are valid and initialised.
    if unsafe { sys::opj_setup_encoder(codec.0, &mut cp, image.0) } == 0 {
        return Err(failure("encoder setup", &errors));
    }

    let mut output = Output::default();
    {
        // SAFETY: an output stream with our callbacks; `output` outlives the stream (the stream
        // is dropped at the end of this block).
        let stream = Stream(unsafe { sys::opj_stream_create(1 << 20, 0) });
        if stream.0.is_null() {
            return Err("OpenJPEG could not create a stream".into());
        }
        unsafe {
            sys::opj_stream_set_write_function(stream.0, Some(output_write));
            sys::opj_stream_set_skip_function(stream.0, Some(output_skip));
            sys::opj_stream_set_seek_function(stream.0, Some(output_seek));
            sys::opj_stream_set_user_data(
                stream.0,
                &mut output as *mut Output as *mut c_void,
                None,
            );
        }
        // SAFETY: all arguments are valid, set up above.
        let ok = unsafe {
            sys::opj_start_compress(codec.0, image.0, stream.0) != 0
                && sys::opj_encode(codec.0, stream.0) != 0
                && sys::opj_end_compress(codec.0, stream.0) != 0
        };
        if !ok {
            return Err(failure("encoding", &errors));
        }
    }
    Ok(output.bytes)
}

/// Decodes a J2K codestream fully (all components, full resolution, all layers).
pub(crate) fn decode(codestream: &[u8]) -> Result<Image, String> {
    let mut errors = String::new();
    let codec = Codec::new(true, &mut errors)?;
    // SAFETY: a zeroed opj_dparameters_t is a valid argument for the defaults call.
    let mut dp: sys::opj_dparameters_t = unsafe { std::mem::zeroed() };
    unsafe { sys::opj_set_default_decoder_parameters(&mut dp) };
    // SAFETY: codec and parameters are valid.
    if unsafe { sys::opj_setup_decoder(codec.0, &mut dp) } == 0 {
        return Err(failure("decoder setup", &errors));
    }
    let mut input = Input {
        bytes: codestream,
        position: 0,
    };
    // SAFETY: an input stream with our callbacks; `input` outlives the stream (declared first).
    let stream = Stream(unsafe { sys::opj_stream_create(1 << 16, 1) });
    if stream.0.is_null() {
        return Err("OpenJPEG could not create a stream".into());
    }
    unsafe {
        sys::opj_stream_set_read_function(stream.0, Some(input_read));
        sys::opj_stream_set_skip_function(stream.0, Some(input_skip));
        sys::opj_stream_set_seek_function(stream.0, Some(input_seek));
        sys::opj_stream_set_user_data(stream.0, &mut input as *mut Input as *mut c_void, None);
        sys::opj_stream_set_user_data_length(stream.0, codestream.len() as u64);
    }
    let mut image = Image(ptr::null_mut());
    // SAFETY: valid stream and codec; the image pointer OpenJPEG allocates is owned by the guard
    // even when reading fails part way.
    let header_ok = unsafe { sys::opj_read_header(stream.0, codec.0, &mut image.0) } != 0;
    if !header_ok || image.0.is_null() {
        return Err(failure("reading the codestream header", &errors));
    }
    // SAFETY: as above; the image was made by opj_read_header for this codec.
    let ok = unsafe {
        sys::opj_decode(codec.0, stream.0, image.0) != 0
            && sys::opj_end_decompress(codec.0, stream.0) != 0
    };
    if !ok {
        return Err(failure("decoding", &errors));
    }
    drop(stream);
    drop(codec);
    Ok(image)
}
