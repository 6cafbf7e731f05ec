package dev.tessera.runtime.audio;

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
import static org.bytedeco.ffmpeg.global.avutil.AVERROR_EOF;
import static org.bytedeco.ffmpeg.global.avutil.AVMEDIA_TYPE_AUDIO;
import static org.bytedeco.ffmpeg.global.avutil.AV_LOG_QUIET;
import static org.bytedeco.ffmpeg.global.avutil.AV_NOPTS_VALUE;
import static org.bytedeco.ffmpeg.global.avutil.AV_SAMPLE_FMT_FLT;
import static org.bytedeco.ffmpeg.global.avutil.av_channel_layout_check;
import static org.bytedeco.ffmpeg.global.avutil.av_channel_layout_default;
import static org.bytedeco.ffmpeg.global.avutil.av_channel_layout_uninit;
import static org.bytedeco.ffmpeg.global.avutil.av_frame_alloc;
import static org.bytedeco.ffmpeg.global.avutil.av_frame_free;
import static org.bytedeco.ffmpeg.global.avutil.av_frame_unref;
import static org.bytedeco.ffmpeg.global.avutil.av_log_set_level;
import static org.bytedeco.ffmpeg.global.avutil.av_strerror;
import static org.bytedeco.ffmpeg.global.swresample.swr_alloc;
import static org.bytedeco.ffmpeg.global.swresample.swr_alloc_set_opts2;
import static org.bytedeco.ffmpeg.global.swresample.swr_convert;
import static org.bytedeco.ffmpeg.global.swresample.swr_free;
import static org.bytedeco.ffmpeg.global.swresample.swr_get_delay;
import static org.bytedeco.ffmpeg.global.swresample.swr_init;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.bytedeco.ffmpeg.avcodec.AVCodec;
import org.bytedeco.ffmpeg.avcodec.AVCodecContext;
import org.bytedeco.ffmpeg.avcodec.AVCodecParameters;
import org.bytedeco.ffmpeg.avcodec.AVPacket;
import org.bytedeco.ffmpeg.avformat.AVFormatContext;
import org.bytedeco.ffmpeg.avformat.AVStream;
import org.bytedeco.ffmpeg.avutil.AVChannelLayout;
import org.bytedeco.ffmpeg.avutil.AVFrame;
import org.bytedeco.ffmpeg.swresample.SwrContext;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.PointerPointer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Mono float samples decoded from a file as they are read (see {@link AudioDecoder} for the rules on downmix,
 * length and damaged input). Memory stays bounded by one decoded frame, whatever the file's length. Not
 * thread-safe; close it (try-with-resources) to free the FFmpeg contexts.
 */
public final class AudioStream implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(AudioStream.class);
    private static final int EAGAIN = -11; // AVERROR(EAGAIN) on Linux
    private static final int MAX_RATE = 384_000;

    static {
        av_log_set_level(AV_LOG_QUIET); // errors are reported through exceptions, not FFmpeg's stderr
    }

    private final Path file;
    private final Path deleteOnClose;
    private final int outRate;
    private AVFormatContext fmt;
    private AVCodecContext dec;
    private SwrContext swr;
    private AVPacket pkt;
    private AVFrame frame;
    private FloatPointer outBuf;
    private PointerPointer<?> outPtrs;
    private int outCap;
    private final AudioInfo info;
    private final int streamIndex;
    private int channels;
    private int inRate;

    private float[] pending = new float[0];
    private float[] scratch = new float[0];
    private int pendingPos;
    private int pendingLen;
    private long inSamples;
    private long outEmitted;
    private long corrupt;
    private boolean demuxDone;
    private boolean finished;
    private boolean closed;

    AudioStream(Path file, int sampleRate, Path deleteOnClose) throws IOException {
        this.file = file;
        this.deleteOnClose = deleteOnClose;
        this.outRate = sampleRate;
        if (sampleRate != 0) {
            checkRate(sampleRate);
        }
        if (file == null) {
            throw new IllegalArgumentException("file must not be null");
        }
        if (!Files.isRegularFile(file)) {
            throw new IOException(file + ": no such file");
        }
        if (Files.size(file) == 0) {
            throw new IOException(file + ": empty file (0 bytes)");
        }
        boolean ok = false;
        try {
            fmt = avformat_alloc_context();
            int r = avformat_open_input(fmt, file.toString(), null, null);
            if (r < 0) {
                fmt = null; // freed by avformat_open_input on failure
                throw new IOException(file + ": not a readable audio or video file (" + err(r) + ")");
            }
            r = avformat_find_stream_info(fmt, (PointerPointer<?>) null);
            if (r < 0) {
                throw new IOException(file + ": cannot read stream information (" + err(r) + ")");
            }
            streamIndex = av_find_best_stream(fmt, AVMEDIA_TYPE_AUDIO, -1, -1, (AVCodec) null, 0);
            if (streamIndex < 0) {
                throw new IOException(file + ": no audio stream in this file");
            }
            AVStream st = fmt.streams(streamIndex);
            AVCodecParameters par = st.codecpar();
            String container = fmt.iformat() == null ? "?" : fmt.iformat().name().getString();
            String codec = avcodec_get_name(par.codec_id()).getString();
            double dur = Double.NaN;
            if (st.duration() != AV_NOPTS_VALUE && st.duration() > 0) {
                dur = st.duration() * (double) st.time_base().num() / st.time_base().den();
            } else if (fmt.duration() != AV_NOPTS_VALUE && fmt.duration() > 0) {
                dur = fmt.duration() / 1e6;
            }
            channels = par.ch_layout().nb_channels();
            inRate = par.sample_rate();
            info = new AudioInfo(container, codec, channels, inRate, dur, streamIndex);
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

    static void checkRate(int sampleRate) {
        if (sampleRate < 1000 || sampleRate > MAX_RATE) {
            throw new IllegalArgumentException("sample rate must be within 1000.." + MAX_RATE + " Hz, got " + sampleRate);
        }
    }

    private void openDecoder(AVCodecParameters par, String codec) throws IOException {
        AVCodec c = avcodec_find_decoder(par.codec_id());
        if (c == null) {
            throw new IOException(file + ": no decoder for codec " + codec);
        }
        dec = avcodec_alloc_context3(c);
        int r = avcodec_parameters_to_context(dec, par);
        if (r < 0) {
            throw new IOException(file + ": bad codec parameters (" + err(r) + ")");
        }
        r = avcodec_open2(dec, c, (PointerPointer<?>) null);
        if (r < 0) {
            throw new IOException(file + ": cannot open the " + codec + " decoder (" + err(r) + ")");
        }
        if (dec.sample_rate() <= 0 || dec.ch_layout().nb_channels() <= 0) {
            throw new IOException(file + ": audio stream without a sample rate or channels");
        }
        channels = dec.ch_layout().nb_channels();
        inRate = dec.sample_rate();
        pkt = av_packet_alloc();
        frame = av_frame_alloc();
    }

    /** Lazily sets up the resampler for the first frame's format: every channel to interleaved float at outRate. */
    private void initResampler(AVFrame f) throws IOException {
        AVChannelLayout in = new AVChannelLayout();
        AVChannelLayout out = new AVChannelLayout();
        try {
            int ch = f.ch_layout().nb_channels();
            if (av_channel_layout_check(f.ch_layout()) != 0) {
                org.bytedeco.ffmpeg.global.avutil.av_channel_layout_copy(in, f.ch_layout());
            } else {
                av_channel_layout_default(in, ch);
            }
            av_channel_layout_default(out, ch);
            // Same channel layout in and out: no mixing in swresample; we average the channels ourselves.
            swr = swr_alloc();
            int r = swr_alloc_set_opts2(swr, out, AV_SAMPLE_FMT_FLT, outRate, in, f.format(), f.sample_rate(), 0, null);
            if (r < 0 || (r = swr_init(swr)) < 0) {
                throw new IOException(file + ": cannot set up resampling (" + err(r) + ")");
            }
            channels = ch;
            inRate = f.sample_rate();
        } finally {
            av_channel_layout_uninit(in);
            av_channel_layout_uninit(out);
        }
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

    /**
     * Reads up to {@code len} samples into {@code buf[off..]}; returns how many, or -1 at the end. Blocks only
     * on decoding (never returns 0 for {@code len > 0}).
     */
    public int read(float[] buf, int off, int len) throws IOException {
        if (closed) {
            throw new IllegalStateException(file + ": audio stream is closed");
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

    /** Demuxes and decodes until some output is pending or the file is done. */
    private void decodeMore() throws IOException {
        while (pendingLen == 0 && !finished) {
            if (!demuxDone) {
                int r = av_read_frame(fmt, pkt);
                if (r < 0) {
                    if (r != AVERROR_EOF) {
                        LOG.warn("{}: read error ({}); treating it as the end of the stream", file, err(r));
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
                if (swr == null) {
                    initResampler(frame);
                } else if (frame.sample_rate() != inRate || frame.ch_layout().nb_channels() != channels) {
                    throw new IOException(file + ": the audio format changes mid-stream (" + frame.sample_rate()
                            + " Hz, " + frame.ch_layout().nb_channels() + " channels), which is not supported");
                }
                inSamples += frame.nb_samples();
                convert(frame.extended_data(), frame.nb_samples());
            } finally {
                av_frame_unref(frame);
            }
        }
    }

    /** Resamples {@code n} input samples (null: flush) and appends their channel mean to the pending buffer. */
    private void convert(PointerPointer<?> in, int n) throws IOException {
        long delay = swr_get_delay(swr, inRate);
        int want = (int) Math.min(Integer.MAX_VALUE / 8, ((delay + n) * (long) outRate) / inRate + 64);
        if (want > outCap) {
            if (outBuf != null) {
                outBuf.close();
                outPtrs.close();
            }
            outCap = want;
            outBuf = new FloatPointer((long) outCap * channels);
            outPtrs = new PointerPointer<>(1).put(0, outBuf);
        }
        int got = swr_convert(swr, outPtrs, outCap, in, n);
        if (got < 0) {
            throw new IOException(file + ": resampling failed (" + err(got) + ")");
        }
        if (got == 0) {
            return;
        }
        if (scratch.length < got * channels) {
            scratch = new float[got * channels];
        }
        float[] inter = scratch;
        outBuf.get(inter, 0, got * channels);
        ensurePending(pendingLen + got);
        float inv = 1f / channels;
        for (int i = 0; i < got; i++) {
            float s = 0;
            for (int c = 0; c < channels; c++) {
                s += inter[i * channels + c];
            }
            pending[pendingLen + i] = channels == 1 ? s : s * inv;
        }
        pendingLen += got;
    }

    private void ensurePending(int n) {
        if (pending.length < n) {
            float[] p = new float[Math.max(n, pending.length * 2)];
            System.arraycopy(pending, 0, p, 0, pendingLen);
            pending = p;
        }
    }

    /** Flushes the resampler and trims or pads to exactly round(inSamples · outRate / inRate). */
    private void finish() throws IOException {
        finished = true;
        if (corrupt > 0) {
            LOG.warn("{}: skipped {} packet(s) that failed to decode (damaged or truncated data)", file, corrupt);
        }
        if (swr == null) {
            throw new IOException(file + ": no decodable audio in this file"
                    + (corrupt > 0 ? " (" + corrupt + " damaged packets)" : ""));
        }
        convert(null, 0);
        double decoded = inSamples / (double) inRate;
        double declared = info.durationSeconds();
        if (Double.isFinite(declared) && decoded < declared - Math.max(0.1, 0.02 * declared)) {
            LOG.warn("{}: decoded {} s of the {} s the container declares (truncated file?)", file,
                    String.format("%.2f", decoded), String.format("%.2f", declared));
        }
        long expected = (inSamples * outRate * 2 + inRate) / (2L * inRate); // round half up
        long total = outEmitted + pendingLen;
        if (total > expected) {
            pendingLen -= (int) Math.min(pendingLen, total - expected);
        } else if (total < expected) {
            int add = (int) (expected - total);
            ensurePending(pendingLen + add);
            java.util.Arrays.fill(pending, pendingLen, pendingLen + add, 0f);
            pendingLen += add;
        }
    }

    private static String err(int code) {
        byte[] b = new byte[256];
        av_strerror(code, b, b.length);
        int n = 0;
        while (n < b.length && b[n] != 0) {
            n++;
        }
        return new String(b, 0, n, java.nio.charset.StandardCharsets.UTF_8) + ", code " + code;
    }

    @Override
    public void close() {
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
        if (outBuf != null) {
            outBuf.close();
            outPtrs.close();
        }
        if (deleteOnClose != null) {
            try {
                Files.deleteIfExists(deleteOnClose);
            } catch (IOException e) {
                LOG.warn("cannot delete temporary file {}: {}", deleteOnClose, e.getMessage());
            }
        }
    }
}
