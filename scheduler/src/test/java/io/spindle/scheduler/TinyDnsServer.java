package io.spindle.scheduler;

import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketException;
import java.nio.ByteBuffer;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A DNS server on a loopback UDP port for the look-up tests, so that they need no network:
 * it answers A queries for {@code h<i>.spindle.test.} with 127.0.(i / 250).(i % 250 + 1) and
 * every other query with no records (NOERROR, an empty answer), as the name has no AAAA.
 */
final class TinyDnsServer implements AutoCloseable {
    private static final int TYPE_A = 1;
    private final DatagramSocket socket;
    private final Thread thread;
    final AtomicLong queries = new AtomicLong();

    TinyDnsServer() throws SocketException {
        socket = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        thread = Thread.ofPlatform().daemon().name("tiny-dns").start(this::serve);
    }

    int port() {
        return socket.getLocalPort();
    }

    private void serve() {
        byte[] in = new byte[512];
        while (!socket.isClosed()) {
            DatagramPacket query = new DatagramPacket(in, in.length);
            try {
                socket.receive(query);
                byte[] answer = answer(ByteBuffer.wrap(in, 0, query.getLength()));
                if (answer != null) socket.send(new DatagramPacket(answer, answer.length, query.getSocketAddress()));
                queries.incrementAndGet();
            } catch (IOException closed) {
                return;
            }
        }
    }

    /** The reply to one query, or null if it is not one this server understands. */
    private static byte[] answer(ByteBuffer q) {
        if (q.remaining() < 12) return null;
        short id = q.getShort(0);
        short flags = q.getShort(2);
        if (q.getShort(4) != 1) return null; // one question
        int at = 12;
        StringBuilder name = new StringBuilder();
        while (at < q.limit() && q.get(at) != 0) {
            int length = q.get(at) & 0xff;
            if (at + 1 + length > q.limit()) return null;
            name.append(new String(q.array(), at + 1, length, java.nio.charset.StandardCharsets.US_ASCII)).append('.');
            at += 1 + length;
        }
        int questionEnd = at + 1 + 4; // the root label, type, class
        if (questionEnd > q.limit()) return null;
        int type = q.getShort(at + 1) & 0xffff;
        byte[] address = type == TYPE_A ? addressOf(name.toString()) : null;
        ByteBuffer r = ByteBuffer.allocate(questionEnd + 16);
        r.putShort(id);
        r.putShort((short) (0x8080 | (flags & 0x0100))); // a response, recursion available, RD as asked
        r.putShort((short) 1).putShort((short) (address != null ? 1 : 0)).putShort((short) 0).putShort((short) 0);
        r.put(q.array(), 12, questionEnd - 12);
        if (address != null) {
            r.putShort((short) 0xc00c).putShort((short) TYPE_A).putShort((short) 1).putInt(0).putShort((short) 4).put(address);
        }
        byte[] out = new byte[r.position()];
        r.flip().get(out);
        return out;
    }

    private static byte[] addressOf(String name) {
        if (!name.startsWith("h") || !name.endsWith(".spindle.test.")) return null;
        int i;
        try {
            i = Integer.parseInt(name.substring(1, name.indexOf('.')));
        } catch (NumberFormatException e) {
            return null;
        }
        return new byte[] {127, 0, (byte) (i / 250), (byte) (i % 250 + 1)};
    }

    @Override
    public void close() throws InterruptedException {
        socket.close();
        thread.join();
    }
}
