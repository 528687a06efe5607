package dev.taskevents.client;

/**
 * The client and a server disagree about TLS, in a way resending cannot help: nothing was sent
 * (or nothing more will be) until the configuration is fixed. One of:
 * <ul>
 *   <li>the server's certificate is not trusted by the client (not signed by a CA it trusts,
 *       expired, or not for the host of the URI): the client never skips certificate
 *       verification; give it the CA that signed the server's certificate;
 *   <li>the scheme of the node URI is not what the server speaks: an https:// URI answered with
 *       plain HTTP, or an http:// URI answered with TLS (the client checks this when a try fails,
 *       within the connect timeout, instead of resending for ever);
 *   <li>a server named a shard's owner with the other scheme (cluster mode's 421 or MOVED): the
 *       client does not follow a node to another scheme, unless that owner is one of its
 *       configured nodes, so an https:// client never sends events and its token in the clear.
 * </ul>
 * Distinct from a server that does not answer, which the client retries.
 */
public final class TlsException extends TaskEventsException {
    private static final long serialVersionUID = 1L;

    private TlsException(String message, Throwable cause) {
        super(message, cause);
    }

    /** The server's certificate (or its host name) is not trusted. */
    static TlsException certificate(String server, Throwable cause) {
        return new TlsException("the TLS certificate of " + server + " is not trusted by this client (" + cause + "): give"
                + " the CA that signed it with TaskEventsClient.Builder.sslContext(...) or add it to the JDK trust"
                + " store; check that the certificate names the host of the URI (" + server + ")", cause);
    }

    /** The server at {@code server} speaks the other protocol than its URI's scheme. */
    static TlsException schemeMismatch(String server, boolean serverSpeaksTls, Throwable cause) {
        return new TlsException(serverSpeaksTls
                ? "the server at " + server + " answered with TLS to plain HTTP: use https:// for it (and give the CA"
                + " of its certificate with TaskEventsClient.Builder.sslContext(...) unless the JDK trust store has it)"
                : "the server at " + server + " answered plain HTTP to a TLS handshake: use http:// for it, or start"
                + " serve with TLS (--tls-keystore)", cause);
    }

    /** {@code server} named {@code owner}, of another scheme and not a configured node, as the owner of a workflow's shard. */
    static TlsException schemeChange(String server, String owner, long workflowInstanceId) {
        return new TlsException("the server at " + server + " named " + owner + " as the owner of workflow "
                + workflowInstanceId + "'s shard; the client does not follow a node to another scheme (the event and"
                + " the bearer token would leave " + scheme(server) + "): advertise every node with the scheme"
                + " clients use (serve --advertise " + scheme(server) + "://...), or give " + owner + " to"
                + " TaskEventsClient.builder as a node", null);
    }

    private static String scheme(String uri) {
        int colon = uri.indexOf(':');
        return colon < 0 ? uri : uri.substring(0, colon);
    }
}
