package dev.tessera.runtime.audio;

import static org.bytedeco.ffmpeg.global.avcodec.AV_CODEC_ID_MP1;
import static org.bytedeco.ffmpeg.global.avcodec.AV_CODEC_ID_MP2;
import static org.bytedeco.ffmpeg.global.avcodec.AV_CODEC_ID_MP3;
import static org.bytedeco.ffmpeg.global.avcodec.AV_CODEC_ID_PCM_F24LE;
import static org.bytedeco.ffmpeg.global.avcodec.AV_CODEC_ID_PCM_S32LE;
import static org.bytedeco.ffmpeg.global.avcodec.av_packet_alloc;
import static org.bytedeco.ffmpeg.global.avcodec.av_packet_free;
import static org.bytedeco.ffmpeg.global.avcodec.av_packet_unref;
import static org.bytedeco.ffmpeg.global.avcodec.avcodec_alloc_context3;
import static org.bytedeco.ffmpeg.global.avcodec.avcodec_find_decoder;
import static org.bytedeco.ffmpeg.global.avcodec.avcodec_free_context;
import static org.bytedeco.ffmpeg.global.avcodec.avcodec_get_name;
import static org.bytedeco.ffmpeg.global.avcodec.avcodec_open2;
import static org.bytedeco.ffmpeg.global.avcodec.avcodec_parameters_to_context;
import static org.bytedeco.ffmpeg.global.avcodec.avcodec_receive_frame;
import static org.bytedeco.ffmpeg.global.avcodec.avcodec_send_packet;
import static org.bytedeco.ffmpeg.global.avformat.av_find_best_stream;
import static org.bytedeco.ffmpeg.global.avformat.av_read_frame;
import static org.bytedeco.ffmpeg.global.avformat.avformat_alloc_context;
import static org.bytedeco.ffmpeg.global.avformat.avformat_close_input;
import static org.bytedeco.ffmpeg.global.avformat.avformat_find_stream_info;
import static org.bytedeco.ffmpeg.global.avformat.avformat_open_input;
import static org.bytedeco.ffmpeg.global.avformat.avio_alloc_context;
import static org.bytedeco.ffmpeg.global.avformat.avio_context_free;
import static org.bytedeco.ffmpeg.global.avutil.AVERROR_EOF;
import static org.bytedeco.ffmpeg.global.avutil.AVMEDIA_TYPE_AUDIO;
import static org.bytedeco.ffmpeg.global.avutil.AV_LOG_QUIET;
import static org.bytedeco.ffmpeg.global.avutil.AV_NOPTS_VALUE;
import static org.bytedeco.ffmpeg.global.avutil.AV_SAMPLE_FMT_FLT;
import static org.bytedeco.ffmpeg.global.avutil.av_channel_layout_default;
import static org.bytedeco.ffmpeg.global.avutil.av_channel_layout_uninit;
import static org.bytedeco.ffmpeg.global.avutil.av_frame_alloc;
import static org.bytedeco.ffmpeg.global.avutil.av_frame_clone;
import static org.bytedeco.ffmpeg.global.avutil.av_frame_free;
import static org.bytedeco.ffmpeg.global.avutil.av_frame_unref;
import static org.bytedeco.ffmpeg.global.avutil.av_free;
import static org.bytedeco.ffmpeg.global.avutil.av_get_sample_fmt_name;
import static org.bytedeco.ffmpeg.global.avutil.av_log_set_level;
import static org.bytedeco.ffmpeg.global.avutil.av_malloc;
import static org.bytedeco.ffmpeg.global.avutil.av_strerror;
import static org.bytedeco.ffmpeg.global.swresample.swr_alloc;
import static org.bytedeco.ffmpeg.global.swresample.swr_alloc_set_opts2;
import static org.bytedeco.ffmpeg.global.swresample.swr_convert;
import static org.bytedeco.ffmpeg.global.swresample.swr_free;
import static org.bytedeco.ffmpeg.global.swresample.swr_get_out_samples;
import static org.bytedeco.ffmpeg.global.swresample.swr_init;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.concurrent.ConcurrentHashMap;
import org.bytedeco.ffmpeg.avcodec.AVCodec;
import org.bytedeco.ffmpeg.avcodec.AVCodecContext;
import org.bytedeco.ffmpeg.avcodec.AVCodecParameters;
import org.bytedeco.ffmpeg.avcodec.AVPacket;
import org.bytedeco.ffmpeg.avformat.AVFormatContext;
import org.bytedeco.ffmpeg.avformat.AVIOContext;
import org.bytedeco.ffmpeg.avformat.AVStream;
import org.bytedeco.ffmpeg.avformat.Read_packet_Pointer_BytePointer_int;
import org.bytedeco.ffmpeg.avutil.AVChannelLayout;
import org.bytedeco.ffmpeg.avutil.AVFrame;
import org.bytedeco.ffmpeg.swresample.SwrContext;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.PointerPointer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Mono float samples decoded from a file or an {@link InputStream} as they are read (see {@link AudioDecoder}
 * for the rules on downmix, length, format changes and damaged input). Memory stays bounded by one packet's
 * decoded frames (plus FFmpeg's 64 KiB read buffer for a stream), whatever the input's length. Reads and close are
 * serialised (a close from another thread waits for the read in progress);
 * close it (try-with-resources) to free the FFmpeg contexts, the read buffer and the resampler.
 */
public final class AudioStream implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(AudioStream.class);
    private static final int EAGAIN = -11; // AVERROR(EAGAIN) on Linux
    private static final int EIO = -5; // AVERROR(EIO)
    static final int IO_BUFFER = 64 * 1024;

    static {
        av_log_set_level(AV_LOG_QUIET); // errors are reported through exceptions, not FFmpeg's stderr
    }

    private final String name;
    private final Path deleteOnClose;
    private final int outRate;
    private AVFormatContext fmt;
    private AVCodecContext dec;
    private SwrContext swr;
    private AVPacket pkt;
    private AVFrame frame;
    private FloatPointer outBuf;
    private PointerPointer<?> outPtrs;
    private long outBufFloats;
    private final AudioInfo info;
    private final int streamIndex;

    // InputStream source (null for files): the custom AVIOContext, and the native word whose address keys it.
    private AVIOContext avio;
    private LongPointer avioKey;
    private StreamSource source;

    // MP3 read from a stream with a LAME header: the last frames are held back until the end is known, then
    // trimmed by the header's end padding (what FFmpeg does for a file). Null: no trimming.
    private LameTag lame;
    private final ArrayDeque<AVFrame> held = new ArrayDeque<>();
    private long heldSamples;
    private long decodedTotal;
    // libavcodec's MPEG audio decoder labels a frame with the previous frame's sample rate (it updates the rate
    // after allocating the frame); for those codecs the rate is read from the decoder context instead.
    private boolean mpegAudio;

    // The current segment: a run of frames with one sample format, rate and channel count.
    private int segFormat = -1;
    private int segRate;
    private int segChannels;
    private long segIn; // input samples of this segment
    private int formatChanges;

    private float[] pending = new float[0];
    private float[] scratch = new float[0];
    private int pendingPos;
    private int pendingLen;
    private double decodedSeconds;
    private long outEmitted;
    private long corrupt;
    private boolean demuxDone;
    private boolean finished;
    private boolean closed;

    /** Opens {@code file}; {@code sampleRate} 0 opens it for {@link #info()} only. */
    AudioStream(Path file, int sampleRate, Path deleteOnClose) throws IOException {
        this(file, null, null, sampleRate, deleteOnClose);
    }

    /**
     * Decodes what {@code in} delivers, read through FFmpeg's I/O callback (no seeking); does not close it.
     * {@code head} is the start of the stream (already part of {@code in}), read for an MP3's LAME header.
     */
    AudioStream(InputStream in, byte[] head, String name, int sampleRate) throws IOException {
        this(null, in, name, sampleRate, null);
        if (dec != null && "mp3".equals(info.container()) && mpegAudio) {
            try {
                lame = LameTag.parse(head);
            } catch (RuntimeException | Error e) {
                close();
                throw e;
            }
        }
    }

    private AudioStream(Path file, InputStream in, String label, int sampleRate, Path deleteOnClose)
            throws IOException {
        this.name = file != null ? file.toString() : label;
        this.deleteOnClose = deleteOnClose;
        this.outRate = sampleRate;
        if (sampleRate != 0) {
            AudioDecoder.checkRate(sampleRate);
        }
        if (file == null && in == null) {
            throw new IllegalArgumentException("file must not be null");
        }
        if (file != null) {
            if (!Files.isRegularFile(file)) {
                throw new IOException(file + ": no such file");
            }
            if (Files.size(file) == 0) {
                throw new IOException(file + ": empty file (0 bytes)");
            }
            byte[] head;
            try (InputStream h = Files.newInputStream(file)) {
                head = h.readNBytes(AudioDecoder.PEEK_BYTES);
            }
            if (IsoBoxes.heifImage(head)) {
                throw new IOException(file + ": " + IsoBoxes.IMAGE_REFUSAL);
            }
        }
        boolean ok = false;
        try {
            fmt = avformat_alloc_context();
            if (fmt == null) {
                throw new OutOfMemoryError("avformat_alloc_context");
            }
            if (in != null) {
                openCallbackIo(in);
            }
            int r = avformat_open_input(fmt, file != null ? file.toString() : "", null, null);
            if (r < 0) {
                fmt = null; // freed by avformat_open_input on failure (a custom AVIOContext is not: close() frees it)
                rethrowStreamFailure();
                throw new IOException(name + ": not a readable audio or video file (" + err(r) + ")");
            }
            r = avformat_find_stream_info(fmt, (PointerPointer<?>) null);
            rethrowStreamFailure();
            if (r < 0) {
                throw new IOException(name + ": cannot read stream information (" + err(r) + ")");
            }
            streamIndex = av_find_best_stream(fmt, AVMEDIA_TYPE_AUDIO, -1, -1, (AVCodec) null, 0);
            if (streamIndex < 0) {
                throw new IOException(name + ": no audio stream in this file");
            }
            AVStream st = fmt.streams(streamIndex);
            AVCodecParameters par = st.codecpar();
            String container = fmt.iformat() == null ? "?" : fmt.iformat().name().getString();
            // integer PCM (WAVE tag 1, or the PCM sub-format of WAVE_FORMAT_EXTENSIBLE) of 24 valid bits in 32-bit
            // containers: FFmpeg's WAV demuxer calls it 24-bit float (and times it at 3 bytes a sample); the samples
            // are left-justified integers, which the 32-bit integer decoder reads exactly, as scipy and libsndfile do
            boolean s24in32 = par.codec_id() == AV_CODEC_ID_PCM_F24LE && par.codec_tag() == 1;
            if (s24in32) {
                par.codec_id(AV_CODEC_ID_PCM_S32LE);
                par.bits_per_coded_sample(32);
            }
            String codec = avcodec_get_name(par.codec_id()).getString() + (s24in32 ? " (24 valid bits)" : "");
            double dur = Double.NaN;
            if (st.duration() != AV_NOPTS_VALUE && st.duration() > 0) {
                dur = st.duration() * (double) st.time_base().num() / st.time_base().den();
            } else if (fmt.duration() != AV_NOPTS_VALUE && fmt.duration() > 0) {
                dur = fmt.duration() / 1e6;
            }
            if (s24in32) {
                dur = dur * 3 / 4;
            }
            info = new AudioInfo(container, codec, par.ch_layout().nb_channels(), par.sample_rate(), dur, streamIndex);
            if (sampleRate != 0) {
                openDecoder(par, codec);
            }
            ok = true;
        } finally {
            if (!ok) {
                close();
            }
        }
    }

    /** Gives the format context an AVIOContext that reads {@code in} through {@link StreamSource#READ}. */
    private void openCallbackIo(InputStream in) {
        source = new StreamSource(in);
        avioKey = new LongPointer(1);
        StreamSource.SOURCES.put(avioKey.address(), source);
        Pointer buf = av_malloc(IO_BUFFER);
        if (buf == null || buf.isNull()) {
            throw new OutOfMemoryError("av_malloc(" + IO_BUFFER + ")");
        }
        // write_flag 0, no seek callback: FFmpeg sees a non-seekable stream and probes by reading forward only.
        avio = avio_alloc_context(new BytePointer(buf), IO_BUFFER, 0, avioKey, StreamSource.READ, null, null);
        if (avio == null || avio.isNull()) {
            av_free(buf);
            avio = null;
            throw new OutOfMemoryError("avio_alloc_context");
        }
        fmt.pb(avio); // avformat_open_input then marks the context AVFMT_FLAG_CUSTOM_IO and never frees avio
    }

    /** If the caller's InputStream threw, that is the error (not an end of stream or a demuxer failure). */
    private void rethrowStreamFailure() throws IOException {
        Throwable t = source == null ? null : source.failure;
        if (t != null) {
            throw new IOException(name + ": reading the input stream failed: " + t, t);
        }
    }

    private void openDecoder(AVCodecParameters par, String codec) throws IOException {
        AVCodec c = avcodec_find_decoder(par.codec_id());
        if (c == null) {
            throw new IOException(name + ": no decoder for codec " + codec);
        }
        dec = avcodec_alloc_context3(c);
        if (dec == null) {
            throw new OutOfMemoryError("avcodec_alloc_context3");
        }
        int r = avcodec_parameters_to_context(dec, par);
        if (r < 0) {
            throw new IOException(name + ": bad codec parameters (" + err(r) + ")");
        }
        r = avcodec_open2(dec, c, (PointerPointer<?>) null);
        if (r < 0) {
            throw new IOException(name + ": cannot open the " + codec + " decoder (" + err(r) + ")");
        }
        if (dec.sample_rate() <= 0 || dec.ch_layout().nb_channels() <= 0) {
            throw new IOException(name + ": audio stream without a sample rate or channels");
        }
        int id = par.codec_id();
        mpegAudio = id == AV_CODEC_ID_MP3 || id == AV_CODEC_ID_MP2 || id == AV_CODEC_ID_MP1;
        pkt = av_packet_alloc();
        frame = av_frame_alloc();
        if (pkt == null || frame == null) {
            throw new OutOfMemoryError("av_packet_alloc / av_frame_alloc");
        }
    }

    /**
     * Sets up the resampler for a frame's sample format, rate and channel count: every channel to interleaved
     * float at outRate, with the same default layout on both sides so swresample never mixes channels (we
     * average them ourselves; which speaker a channel is does not matter to a mean).
     */
    private void startSegment(AVFrame f, int rate) throws IOException {
        int ch = f.ch_layout().nb_channels();
        if (ch <= 0 || rate <= 0) {
            throw new IOException(name + ": a decoded frame has " + ch + " channels at " + rate + " Hz");
        }
        AVChannelLayout layout = new AVChannelLayout();
        try {
            av_channel_layout_default(layout, ch);
            swr = swr_alloc();
            if (swr == null) {
                throw new OutOfMemoryError("swr_alloc");
            }
            int r = swr_alloc_set_opts2(swr, layout, AV_SAMPLE_FMT_FLT, outRate, layout, f.format(), rate, 0, null);
            if (r < 0 || (r = swr_init(swr)) < 0) {
                throw new IOException(name + ": cannot set up resampling (" + err(r) + ")");
            }
        } finally {
            av_channel_layout_uninit(layout);
            layout.close();
        }
        segFormat = f.format();
        segRate = rate;
        segChannels = ch;
        segIn = 0;
    }

    /**
     * Ends the current segment: drains the resampler (what the {@code ffmpeg} program does at the end of a stream, so
     * the segment has the length {@code ffmpeg -ar RATE} gives it), then frees the resampler.
     */
    private void endSegment() throws IOException {
        while (convert(null, 0) > 0) {
            // the flush may come in several pieces
        }
        decodedSeconds += segIn / (double) segRate;
        swr_free(swr);
        swr = null;
    }

    /** True when this stream reads a temporary copy of an InputStream (an MP4 that needs seeking). */
    boolean spooled() {
        return deleteOnClose != null;
    }

    /** The probed container, codec, channels, rate and duration. */
    public AudioInfo info() {
        return info;
    }

    /** The output sample rate. */
    public int sampleRate() {
        return outRate;
    }

    /** Packets skipped because they failed to decode (damaged or truncated data). */
    public long corruptPackets() {
        return corrupt;
    }

    /** Samples handed out so far. */
    public long samplesRead() {
        return outEmitted;
    }

    /** How often the decoded sample format, rate or channel count changed mid-stream (each part is resampled). */
    public int formatChanges() {
        return formatChanges;
    }

    /**
     * Reads up to {@code len} samples into {@code buf[off..]}; returns how many, or -1 at the end. Blocks only
     * on reading and decoding (never returns 0 for {@code len > 0}).
     *
     * @throws IOException if the input stream threw (its exception is the cause) or the audio cannot be decoded
     */
    public synchronized int read(float[] buf, int off, int len) throws IOException {
        if (closed) {
            throw new IllegalStateException(name + ": audio stream is closed");
        }
        if (dec == null) {
            throw new IllegalStateException("opened for probing only");
        }
        if (buf == null || off < 0 || len < 0 || off + len > buf.length) {
            throw new IndexOutOfBoundsException("bad range off=" + off + " len=" + len);
        }
        if (len == 0) {
            return 0;
        }
        while (pendingPos == pendingLen) {
            if (finished) {
                return -1;
            }
            pendingPos = 0;
            pendingLen = 0;
            decodeMore();
        }
        int n = Math.min(len, pendingLen - pendingPos);
        System.arraycopy(pending, pendingPos, buf, off, n);
        pendingPos += n;
        outEmitted += n;
        return n;
    }

    /** Demuxes and decodes until some output is pending or the input is done. */
    private void decodeMore() throws IOException {
        while (pendingLen == 0 && !finished) {
            if (!demuxDone) {
                int r = av_read_frame(fmt, pkt);
                if (r < 0) {
                    rethrowStreamFailure();
                    if (r != AVERROR_EOF) {
                        LOG.warn("{}: read error ({}); treating it as the end of the stream", name, err(r));
                    }
                    demuxDone = true;
                    avcodec_send_packet(dec, null); // enter draining mode
                } else {
                    try {
                        if (pkt.stream_index() == streamIndex) {
                            int s = avcodec_send_packet(dec, pkt);
                            if (s < 0 && s != EAGAIN && s != AVERROR_EOF) {
                                corrupt++;
                            }
                        }
                    } finally {
                        av_packet_unref(pkt);
                    }
                }
            }
            drainFrames();
            if (demuxDone && pendingLen == 0) {
                finish();
            }
        }
    }

    private void drainFrames() throws IOException {
        while (true) {
            int r = avcodec_receive_frame(dec, frame);
            if (r == EAGAIN || r == AVERROR_EOF) {
                return;
            }
            if (r < 0) {
                corrupt++;
                return;
            }
            try {
                int n = frame.nb_samples();
                if (n <= 0) {
                    continue;
                }
                int rate = mpegAudio ? dec.sample_rate() : frame.sample_rate();
                if (lame == null) {
                    process(frame, n, rate);
                    continue;
                }
                AVFrame c = av_frame_clone(frame);
                if (c == null) {
                    throw new OutOfMemoryError("av_frame_clone");
                }
                c.sample_rate(rate);
                held.add(c);
                heldSamples += n;
                decodedTotal += n;
                while (held.size() > 1 && heldSamples - held.peekFirst().nb_samples() >= lame.endTrim()) {
                    AVFrame f = held.poll();
                    heldSamples -= f.nb_samples();
                    try {
                        process(f, f.nb_samples(), f.sample_rate());
                    } finally {
                        av_frame_free(f);
                    }
                }
            } finally {
                av_frame_unref(frame);
            }
        }
    }

    /**
     * At the end of a streamed MP3 with a LAME header: if exactly the frames the header announces were decoded,
     * drops its end padding from the held frames (a longer stream, such as concatenated files, or a shorter,
     * truncated one is left whole, as FFmpeg does for files); then resamples what is left.
     */
    private void releaseHeld() throws IOException {
        if (lame == null) {
            return;
        }
        long keep = decodedTotal == lame.untrimmedSamples() ? heldSamples - lame.endTrim() : heldSamples;
        while (!held.isEmpty()) {
            AVFrame f = held.poll();
            try {
                int n = (int) Math.min(f.nb_samples(), Math.max(0, keep));
                keep -= n;
                if (n > 0) {
                    process(f, n, f.sample_rate());
                }
            } finally {
                av_frame_free(f);
            }
        }
        heldSamples = 0;
    }

    /** Resamples the first {@code n} samples of {@code f} (at {@code rate} Hz), starting a segment if needed. */
    private void process(AVFrame f, int n, int rate) throws IOException {
        if (swr == null) {
            startSegment(f, rate);
        } else if (f.format() != segFormat || rate != segRate || f.ch_layout().nb_channels() != segChannels) {
            formatChanges++;
            LOG.info("{}: the audio format changes after {} s ({} Hz, {} ch, {} -> {} Hz, {} ch, {}); "
                    + "resampling each part", name, String.format("%.3f", decodedSeconds + segIn / (double) segRate),
                    segRate, segChannels, fmtName(segFormat), rate, f.ch_layout().nb_channels(), fmtName(f.format()));
            endSegment();
            startSegment(f, rate);
        }
        segIn += n;
        convert(f.extended_data(), n);
    }

    /**
     * Resamples {@code n} input samples (null: flush) and appends their channel mean to the pending buffer; returns
     * the number of output samples appended.
     */
    private int convert(PointerPointer<?> in, int n) throws IOException {
        int ch = segChannels;
        long want = swr_get_out_samples(swr, n) + 64L;
        if (want * ch > outBufFloats) {
            if (outBuf != null) {
                outBuf.close();
                outPtrs.close();
            }
            outBufFloats = Math.max(want * ch, 4096);
            outBuf = new FloatPointer(outBufFloats);
            outPtrs = new PointerPointer<>(1).put(0, outBuf);
        }
        int got = swr_convert(swr, outPtrs, (int) (outBufFloats / ch), in, in == null ? 0 : n);
        if (got < 0) {
            throw new IOException(name + ": resampling failed (" + err(got) + ")");
        }
        if (got == 0) {
            return 0;
        }
        if (scratch.length < got * ch) {
            scratch = new float[got * ch];
        }
        float[] inter = scratch;
        outBuf.get(inter, 0, got * ch);
        ensurePending(pendingLen + got);
        if (ch == 1) {
            System.arraycopy(inter, 0, pending, pendingLen, got);
        } else {
            float inv = 1f / ch;
            for (int i = 0; i < got; i++) {
                float s = 0;
                for (int c = 0; c < ch; c++) {
                    s += inter[i * ch + c];
                }
                pending[pendingLen + i] = s * inv;
            }
        }
        pendingLen += got;
        return got;
    }

    private void ensurePending(int n) {
        if (pending.length < n) {
            float[] p = new float[Math.max(n, pending.length * 2)];
            System.arraycopy(pending, 0, p, 0, pendingLen);
            pending = p;
        }
    }

    /** Ends the last segment; logs skipped packets and audio shorter than the container declares. */
    private void finish() throws IOException {
        finished = true;
        releaseHeld();
        if (swr == null) { // the error line counts the damaged packets: no warning before it
            throw new IOException(name + ": no decodable audio in this file"
                    + (corrupt > 0 ? " (" + corrupt + " damaged packets)" : ""));
        }
        if (corrupt > 0) {
            LOG.warn("{}: skipped {} packet(s) that failed to decode (damaged or truncated data)", name, corrupt);
        }
        endSegment();
        double declared = info.durationSeconds();
        if (Double.isFinite(declared) && decodedSeconds < declared - Math.max(0.1, 0.02 * declared)) {
            LOG.warn("{}: decoded {} s of the {} s the container declares (truncated file?)", name,
                    String.format("%.2f", decodedSeconds), String.format("%.2f", declared));
        }
    }

    private static String fmtName(int sampleFormat) {
        BytePointer p = av_get_sample_fmt_name(sampleFormat);
        return p == null || p.isNull() ? String.valueOf(sampleFormat) : p.getString();
    }

    static String err(int code) {
        byte[] b = new byte[256];
        av_strerror(code, b, b.length);
        int n = 0;
        while (n < b.length && b[n] != 0) {
            n++;
        }
        return new String(b, 0, n, StandardCharsets.UTF_8) + ", code " + code;
    }

    /** Frees every native object (also after errors); idempotent. Does not close a caller's InputStream. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (swr != null) {
            swr_free(swr);
            swr = null;
        }
        if (frame != null) {
            av_frame_free(frame);
            frame = null;
        }
        while (!held.isEmpty()) {
            av_frame_free(held.poll());
        }
        if (pkt != null) {
            av_packet_free(pkt);
            pkt = null;
        }
        if (dec != null) {
            avcodec_free_context(dec);
            dec = null;
        }
        if (fmt != null) {
            avformat_close_input(fmt);
            fmt = null;
        }
        if (avio != null) {
            av_free(avio.buffer()); // FFmpeg may have replaced the buffer we allocated: free the current one
            avio_context_free(avio);
            avio = null;
        }
        if (avioKey != null) {
            StreamSource.SOURCES.remove(avioKey.address());
            avioKey.close();
            avioKey = null;
        }
        source = null;
        if (outBuf != null) {
            outBuf.close();
            outPtrs.close();
            outBuf = null;
            outPtrs = null;
        }
        pending = new float[0];
        scratch = pending;
        pendingLen = pendingPos = 0;
        if (deleteOnClose != null) {
            try {
                Files.deleteIfExists(deleteOnClose);
            } catch (IOException e) {
                LOG.warn("cannot delete temporary file {}: {}", deleteOnClose, e.getMessage());
            }
        }
    }

    /**
     * An InputStream read by FFmpeg. One native read callback serves every stream (JavaCPP callbacks are a
     * limited native resource); it finds the stream by the address of the opaque word FFmpeg passes back.
     */
    static final class StreamSource {
        static final ConcurrentHashMap<Long, StreamSource> SOURCES = new ConcurrentHashMap<>();

        static final Read_packet_Pointer_BytePointer_int READ = new Read_packet_Pointer_BytePointer_int() {
            @Override
            public int call(Pointer opaque, BytePointer buf, int size) {
                StreamSource s = opaque == null ? null : SOURCES.get(opaque.address());
                return s == null ? AVERROR_EOF : s.read(buf, size);
            }
        };

        final InputStream in;
        final byte[] chunk = new byte[IO_BUFFER];
        volatile Throwable failure;

        StreamSource(InputStream in) {
            this.in = in;
        }

        /** Fills up to {@code size} bytes of FFmpeg's buffer; never lets an exception reach native code. */
        int read(BytePointer buf, int size) {
            if (failure != null) {
                return EIO;
            }
            try {
                int n;
                do {
                    n = in.read(chunk, 0, Math.min(size, chunk.length));
                } while (n == 0 && size > 0);
                if (n < 0) {
                    return AVERROR_EOF;
                }
                buf.position(0).capacity(size).put(chunk, 0, n);
                return n;
            } catch (Throwable t) {
                failure = t;
                return EIO;
            }
        }
    }
}
