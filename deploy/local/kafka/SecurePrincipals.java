// Creates the SCRAM-SHA-512 users and the ACLs of the secured local listener, in one JVM, through
// the admin API on the plaintext loopback listener (whose principal is a super user). Run by
// infra.sh as a single-file source program:
//   java -cp <kafka classpath> SecurePrincipals.java <bootstrap> <principals.env> <acls.txt>
// principals.env holds LOOMWATCH_KAFKA_PASSWORD_<PRINCIPAL>=<password> lines; acls.txt is the list
// beside this file. Idempotent: users are upserted, and each principal of the list ends with exactly
// its listed ACLs (bindings it has that the list no longer grants are deleted).
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Properties;
import java.util.Set;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.ScramCredentialInfo;
import org.apache.kafka.clients.admin.ScramMechanism;
import org.apache.kafka.clients.admin.UserScramCredentialAlteration;
import org.apache.kafka.clients.admin.UserScramCredentialUpsertion;
import org.apache.kafka.common.acl.AccessControlEntry;
import org.apache.kafka.common.acl.AccessControlEntryFilter;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclBindingFilter;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.acl.AclPermissionType;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.ResourcePattern;
import org.apache.kafka.common.resource.ResourcePatternFilter;
import org.apache.kafka.common.resource.ResourceType;

public class SecurePrincipals {
  private static final String PREFIX = "LOOMWATCH_KAFKA_PASSWORD_";

  public static void main(String[] args) throws Exception {
    if (args.length != 3) throw new IllegalArgumentException("usage: SecurePrincipals <bootstrap> <principals.env> <acls.txt>");
    List<UserScramCredentialAlteration> users = new ArrayList<>();
    for (String line : Files.readAllLines(Path.of(args[1]))) {
      if (!line.startsWith(PREFIX)) continue;
      int eq = line.indexOf('=');
      String user = line.substring(PREFIX.length(), eq).toLowerCase(Locale.ROOT);
      users.add(new UserScramCredentialUpsertion(user, new ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, 8192), line.substring(eq + 1)));
    }
    List<AclBinding> acls = new ArrayList<>();
    for (String raw : Files.readAllLines(Path.of(args[2]))) {
      String line = raw.replaceAll("#.*", "").trim();
      if (line.isEmpty()) continue;
      String[] f = line.split("\\s+");
      if (f.length != 5) throw new IllegalArgumentException("acls.txt: expected 5 fields in: " + raw);
      ResourcePattern resource = new ResourcePattern(ResourceType.valueOf(f[2]), f[4], PatternType.valueOf(f[3]));
      for (String operation : f[1].split(",")) {
        acls.add(new AclBinding(resource, new AccessControlEntry("User:" + f[0], "*", AclOperation.valueOf(operation), AclPermissionType.ALLOW)));
      }
    }
    Properties props = new Properties();
    props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, args[0]);
    int removed;
    try (Admin admin = Admin.create(props)) {
      admin.alterUserScramCredentials(users).all().get();
      admin.createAcls(acls).all().get();
      // A grant taken out of the list (CREATE, once the services stopped creating topics) goes too.
      Set<AclBinding> wanted = new HashSet<>(acls);
      Set<String> principals = new HashSet<>();
      for (AclBinding acl : acls) principals.add(acl.entry().principal());
      List<AclBindingFilter> stale = new ArrayList<>();
      for (String principal : principals) {
        AclBindingFilter ofPrincipal = new AclBindingFilter(ResourcePatternFilter.ANY, new AccessControlEntryFilter(principal, null, AclOperation.ANY, AclPermissionType.ANY));
        for (AclBinding existing : admin.describeAcls(ofPrincipal).values().get()) {
          if (!wanted.contains(existing)) stale.add(existing.toFilter());
        }
      }
      if (!stale.isEmpty()) admin.deleteAcls(stale).all().get();
      removed = stale.size();
    }
    System.out.println("SecurePrincipals: " + users.size() + " SCRAM users, " + acls.size() + " ACL bindings, " + removed + " removed");
  }
}
