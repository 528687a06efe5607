package dev.taskevents.cli.serve;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;

/** Tokens and TLS material, read from files and the environment, never from the command line. */
final class Credentials {
    private Credentials() {}

    /**
     * The tokens in {@code environment} (comma or whitespace separated) and in the file (one per
     * line, blank lines and '#' comments skipped). Messages name the file, never a token.
     */
    static List<String> tokens(String environment, String file) {
        List<String> tokens = new ArrayList<>();
        if (environment != null) {
            Arrays.stream(environment.split("[,\\s]+")).filter(t -> !t.isEmpty()).forEach(tokens::add);
        }
        if (file != null) {
            try {
                for (String line : Files.readAllLines(Path.of(file), StandardCharsets.UTF_8)) {
                    String token = line.strip();
                    if (!token.isEmpty() && !token.startsWith("#")) {
                        tokens.add(token);
                    }
                }
            } catch (IOException e) {
                throw new IllegalArgumentException("cannot read the token file " + file + ": " + e.getMessage());
            }
            if (tokens.isEmpty()) {
                throw new IllegalArgumentException("the token file " + file + " holds no token");
            }
        }
        return tokens;
    }

    /** An SSLContext from a PKCS12 keystore, or null if neither option is given. */
    static SSLContext tls(String keystore, String passwordFile) {
        if (keystore == null && passwordFile == null) {
            return null;
        }
        if (keystore == null || passwordFile == null) {
            throw new IllegalArgumentException("HTTPS needs both --tls-keystore and --tls-password-file");
        }
        char[] password;
        try {
            List<String> lines = Files.readAllLines(Path.of(passwordFile), StandardCharsets.UTF_8);
            password = (lines.isEmpty() ? "" : lines.getFirst()).toCharArray();
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read the TLS password file " + passwordFile + ": " + e.getMessage());
        }
        try (InputStream in = Files.newInputStream(Path.of(keystore))) {
            KeyStore store = KeyStore.getInstance("PKCS12");
            store.load(in, password);
            KeyManagerFactory keys = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            keys.init(store, password);
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(keys.getKeyManagers(), null, null);
            return context;
        } catch (IOException | GeneralSecurityException e) {
            throw new IllegalArgumentException("cannot use the TLS keystore " + keystore + ": " + e.getMessage());
        } finally {
            Arrays.fill(password, '\0');
        }
    }
}
