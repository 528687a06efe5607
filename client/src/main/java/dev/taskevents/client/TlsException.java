package dev.taskevents.client;

/**
 * The TLS handshake with the server failed on its certificate (not trusted, expired, or not for
 * this host name): nothing was sent, and resending cannot help. Distinct from a server that does
 * not answer, which the client retries. The client never skips certificate verification: give it
 * the CA that signed the server's certificate.
 */
public final class TlsException extends TaskEventsException {
    private static final long serialVersionUID = 1L;

    TlsException(String server, Throwable cause) {
        super("the TLS certificate of " + server + " is not trusted by this client (" + cause + "): give the"
                + " CA that signed it with TaskEventsClient.Builder.sslContext(...) or add it to the JDK trust"
                + " store; check that the certificate names the host of the URI (" + server + ")", cause);
    }
}
